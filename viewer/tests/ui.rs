//! The viewer driven as a person would: open, unlock (wrong, then right),
//! search, read a table, an image and a multi-page record, verify an
//! intact and a tampered archive, export. Checked through the
//! accessibility tree, with PNG snapshots of the main screens
//! (`UPDATE_SNAPSHOTS=1 cargo test -p legation-viewer` rewrites them).

mod support;

use std::cell::RefCell;
use std::path::PathBuf;
use std::rc::Rc;

use egui::accesskit::Role;
use egui_kittest::kittest::Queryable as _;
use egui_kittest::Harness;
use legation_viewer::document::thousands;
use legation_viewer::App;
use std::sync::Arc;

use support::{archives, has, settle, Holding, Script, Scripted};

type H = Harness<'static, App>;

/// Titles from the sidecars of `samples/records`.
const CAMERA: &str = "Photograph of a cameraman (scanned plate)";
const GPL: &str = "GNU General Public License, version 2";

fn harness(path: Option<PathBuf>, script: Rc<RefCell<Script>>) -> H {
    harness_on(path, script, Arc::default())
}

fn harness_on(path: Option<PathBuf>, script: Rc<RefCell<Script>>, jobs: Arc<Holding>) -> H {
    harness_sized(path, script, jobs, egui::vec2(1280.0, 800.0))
}

fn harness_sized(
    path: Option<PathBuf>,
    script: Rc<RefCell<Script>>,
    jobs: Arc<Holding>,
    size: egui::Vec2,
) -> H {
    let app = App::new(Box::new(Scripted(script, jobs)), path);
    Harness::builder()
        .with_size(size)
        .with_max_steps(64)
        // Frames are stepped a varying number of times while jobs run: a
        // blinking cursor would make snapshots differ from run to run.
        .with_context_setup(|ctx| ctx.all_styles_mut(|s| s.visuals.text_cursor.blink = false))
        .build_ui_state(|ui, app: &mut App| app.ui(ui), app)
}

/// A snapshot without the pointer (no hover effects or tooltips, whose
/// timing varies).
fn snap(h: &mut H, name: &str) {
    h.remove_cursor();
    h.run_steps(2);
    h.snapshot(name);
}

/// The button (or selectable label) with this text.
fn button<'a>(h: &'a H, label: &'a str) -> egui_kittest::Node<'a> {
    h.get_by_role_and_label(Role::Button, label)
}

fn type_passphrase(h: &mut H, text: &str) {
    type_into(h, Role::PasswordInput, text);
}

fn open_unlocked(script: Rc<RefCell<Script>>, path: &std::path::Path) -> H {
    open_unlocked_sized(script, path, egui::vec2(1280.0, 800.0))
}

fn open_unlocked_sized(script: Rc<RefCell<Script>>, path: &std::path::Path, size: egui::Vec2) -> H {
    let mut h = harness_sized(Some(path.to_owned()), script, Arc::default(), size);
    settle(&mut h);
    type_passphrase(&mut h, legation_tests::PASSPHRASE);
    button(&h, "Unlock").click();
    settle(&mut h);
    h
}

fn click_record(h: &mut H, title: &str) {
    button(h, title).click();
    settle(h);
}

#[test]
fn open_see_public_facts_unlock_wrong_then_right() {
    let a = archives();
    let script = Rc::new(RefCell::new(Script::default()));
    let mut h = harness(Some(a.intact.clone()), script.clone());
    settle(&mut h);
    let fp = legation_format::crypto::fingerprint(&legation_tests::issuer().public());
    assert!(has(&h, "sample.lgn: public facts"));
    assert!(has(&h, &format!("{fp} (signature valid, not pinned)")));
    assert!(has(&h, "Intact: no problem found at the fixity level."));
    assert!(has(&h, "2026-11-27T10:31:52Z"));
    assert!(has(&h, "9 encrypted entries, "), "1.x: one entry a record");
    assert!(
        h.get_by_role(Role::PasswordInput).is_focused(),
        "ready to type the passphrase"
    );
    assert_eq!(
        script.borrow().recent,
        vec![a.intact.clone()],
        "remembered as recent"
    );
    snap(&mut h, "locked");

    type_passphrase(&mut h, "not the passphrase");
    button(&h, "Unlock").click();
    settle(&mut h);
    assert!(
        has(&h, "Wrong passphrase or identity"),
        "a wrong key says so"
    );
    snap(&mut h, "wrong_passphrase");

    type_passphrase(&mut h, legation_tests::PASSPHRASE);
    h.key_press(egui::Key::Enter);
    settle(&mut h);
    assert!(!has(&h, "Wrong passphrase"));
    assert!(has(&h, "9 of 9 records"));
    for title in [
        CAMERA,
        GPL,
        "iowa-electricity.csv",
        "multipage.tif",
        "BSD.txt",
    ] {
        assert!(h.query_by_label_contains(title).is_some(), "{title} listed");
    }
    snap(&mut h, "records");
}

#[test]
fn an_identity_file_unlocks() {
    let a = archives();
    let script = Rc::new(RefCell::new(Script::default()));
    let mut h = harness(Some(a.intact.clone()), script.clone());
    settle(&mut h);
    script.borrow_mut().key_file = Some(a.identity.clone());
    button(&h, "Choose identity file…").click();
    h.run_steps(2);
    assert!(has(&h, "reader.key"));
    button(&h, "Unlock").click();
    settle(&mut h);
    assert!(has(&h, "9 of 9 records"));
}

#[test]
fn search_then_read_a_table() {
    let a = archives();
    let mut h = open_unlocked(Rc::default(), &a.intact);
    let search = h.get_by_role(Role::TextInput);
    search.focus();
    h.run_steps(1);
    h.get_by_role(Role::TextInput).type_text("iowa");
    settle(&mut h);
    assert!(has(&h, "1 of 9 records"));
    assert!(h.query_by_label(CAMERA).is_none(), "filtered out");
    click_record(&mut h, "iowa-electricity.csv");
    assert!(has(&h, "rows × 3 columns"), "a table is shown");
    assert!(has(&h, "year"), "with its header");
    snap(&mut h, "table_record");
    // Sort by a column: the header marks the order.
    button(&h, "year").click();
    h.run_steps(2);
    assert!(has(&h, "year ▲"));
    button(&h, "year ▲").click();
    h.run_steps(2);
    assert!(has(&h, "year ▼"));
    // Search covers Dublin Core metadata too (the camera's "source").
    h.get_by_role(Role::TextInput).focus();
    h.run_steps(1);
    h.key_press_modifiers(egui::Modifiers::COMMAND, egui::Key::A);
    h.run_steps(1);
    h.get_by_role(Role::TextInput).type_text("scikit");
    settle(&mut h);
    assert!(has(&h, "1 of 9 records"));
    assert!(h.query_by_label(CAMERA).is_some());
    h.get_by_role(Role::TextInput).focus();
    h.run_steps(1);
    h.key_press_modifiers(egui::Modifiers::COMMAND, egui::Key::A);
    h.run_steps(1);
    h.get_by_role(Role::TextInput).type_text("nonexistent-zzz");
    settle(&mut h);
    assert!(has(&h, "0 of 9 records"));
}

#[test]
fn an_image_and_a_multi_page_record() {
    let a = archives();
    let mut h = open_unlocked(Rc::default(), &a.intact);
    click_record(&mut h, CAMERA);
    assert!(has(&h, "Image 512 × 512"), "the image is shown");
    snap(&mut h, "image_record");
    button(&h, "Actual size").click();
    h.run_steps(2);
    assert!(has(&h, "Zoom 100%"));
    button(&h, "+").click();
    h.run_steps(2);
    assert!(has(&h, "Zoom 125%"));
    button(&h, "Fit").click();
    h.run_steps(2);
    button(&h, "Details").click();
    h.run_steps(2);
    assert!(has(&h, "identical to the view recorded at packing"));
    assert!(has(&h, "verified when read"));
    assert!(has(&h, "Module BLAKE3"));
    snap(&mut h, "details");
    button(&h, "Record").click();
    h.run_steps(1);

    click_record(&mut h, "multipage.tif");
    let pages = h
        .get_by_label_contains("Page 1 of ")
        .value()
        .unwrap_or_default();
    let n: usize = pages.rsplit(' ').next().unwrap().parse().unwrap();
    assert!(n >= 2, "{pages}");
    // Pages are decoded when the reader turns to them (one at a time).
    button(&h, "Next page ▶").click();
    h.run_steps(2);
    assert!(has(&h, &format!("Page 2 of {n}")));
    settle(&mut h);
    assert!(!has(&h, "Decoding page"));
    // A scan's facts are folded below the page.
    h.get_by_label("Facts about this record").click();
    h.run_steps(2);
    assert!(
        h.query_by_label(&format!("2 of {n}")).is_some(),
        "page 2's own fields, decoded"
    );
    snap(&mut h, "multipage_record");
}

#[test]
fn a_record_the_decoder_refuses_shows_through_the_raw_decoder() {
    let a = archives();
    let mut h = open_unlocked(Rc::default(), &a.intact);
    click_record(&mut h, "broken.json");
    // The refusal above, then the raw decoder's view (issue 23 item 16).
    assert!(has(
        &h,
        "Its decoder does not show this record: decoder json 1.0.0"
    ));
    assert!(has(&h, "refuses registers/broken.json"));
    assert!(has(&h, "Shown below through the archive's raw decoder"));
    assert!(has(&h, "20 bytes"), "the raw decoder's size");
    assert!(has(&h, "00000000  7b 22 72 65"), "its hex dump");
    assert!(!has(&h, "This record cannot be shown"));
    snap(&mut h, "decoder_failure");
}

#[test]
fn keyboard_find_arrows_and_enter() {
    let a = archives();
    let mut h = open_unlocked(Rc::default(), &a.intact);
    h.key_press_modifiers(egui::Modifiers::COMMAND, egui::Key::F);
    h.run_steps(1);
    assert!(
        h.get_by_role(Role::TextInput).is_focused(),
        "Ctrl+F focuses search"
    );
    h.get_by_role(Role::TextInput).type_text("legal");
    settle(&mut h);
    h.key_press(egui::Key::ArrowDown);
    h.run_steps(1);
    h.key_press(egui::Key::ArrowDown);
    h.run_steps(1);
    h.key_press(egui::Key::Enter);
    settle(&mut h);
    // legal/: BSD.txt, GPL-2.txt (titled by its sidecar), LGPL-2.1.txt.
    assert!(has(&h, "legal/GPL-2.txt"), "the second record opened");
}

#[test]
fn verify_an_intact_archive_with_a_pinned_issuer() {
    let a = archives();
    let script = Rc::new(RefCell::new(Script::default()));
    let mut h = open_unlocked(script.clone(), &a.intact);
    button(&h, "Verify archive").click();
    h.run_steps(1);
    script.borrow_mut().key_file = Some(a.issuer_pub.clone());
    button(&h, "Pin issuer key…").click();
    h.run_steps(1);
    let fp = legation_format::crypto::fingerprint(&legation_tests::issuer().public());
    assert!(has(&h, &fp));
    button(&h, "Verify everything (render)").click();
    settle(&mut h);
    assert!(has(&h, "Intact: no problem found at the render level."));
    assert!(has(&h, &format!("signed by the pinned issuer {fp}")));
    snap(&mut h, "verify_intact");
}

#[test]
fn verify_a_tampered_archive() {
    let a = archives();
    let script = Rc::new(RefCell::new(Script::default()));
    // The keyless check already names the entry.
    let mut h = harness(Some(a.tampered.clone()), script.clone());
    settle(&mut h);
    assert!(has(&h, "DAMAGED: 1 problem(s) found at the fixity level."));
    assert!(has(&h, &a.tampered_entry));
    type_passphrase(&mut h, legation_tests::PASSPHRASE);
    button(&h, "Unlock").click();
    settle(&mut h);
    button(&h, "Verify archive").click();
    h.run_steps(1);
    button(&h, "Verify content").click();
    settle(&mut h);
    assert!(has(&h, "DAMAGED: 2 problem(s) found at the content level."));
    let link = format!("{}: ", a.tampered_record);
    assert!(has(&h, &link), "the damaged record is named");
    snap(&mut h, "verify_tampered");
    // The result points to the record: clicking it opens the record,
    // which cannot be shown, and its first bytes are offered raw.
    h.get_by_label_contains(&link).click();
    settle(&mut h);
    assert!(has(&h, "This record cannot be shown"));
    assert!(has(&h, "fails authentication"));
    // The keyless problem names the container entry: it leads to the
    // record stored there.
    button(&h, "Verify archive").click();
    h.run_steps(1);
    button(&h, "Details").click();
    h.run_steps(1);
    button(&h, "Verify archive").click();
    h.run_steps(1);
    h.get_by_label_contains(&format!("{}: BLAKE3", a.tampered_entry))
        .click();
    settle(&mut h);
    assert!(has(&h, &a.tampered_record));
    assert!(has(&h, "This record cannot be shown"));
}

#[test]
fn export_never_overwrites_without_asking() {
    let a = archives();
    let script = Rc::new(RefCell::new(Script::default()));
    let mut h = open_unlocked(script.clone(), &a.intact);
    click_record(&mut h, "iowa-electricity.csv");
    let out = a.dir.join(format!("export-{}.csv", std::process::id()));
    let _ = std::fs::remove_file(&out);
    script.borrow_mut().save = Some(out.clone());
    button(&h, "Export original…").click();
    settle(&mut h);
    let original = std::fs::read(a.dir.join("records/land/iowa-electricity.csv")).unwrap();
    assert_eq!(std::fs::read(&out).unwrap(), original);
    assert!(has(&h, "Exported"));

    // Again to the same file: asked, and kept.
    std::fs::write(&out, b"mine").unwrap();
    script.borrow_mut().save = Some(out.clone());
    button(&h, "Export original…").click();
    h.run_steps(2);
    assert!(has(&h, "Replace the file?"));
    button(&h, "Keep it").click();
    settle(&mut h);
    assert_eq!(std::fs::read(&out).unwrap(), b"mine");

    // The view as HTML, replacing when told to.
    script.borrow_mut().save = Some(out.clone());
    button(&h, "Export view as HTML…").click();
    h.run_steps(2);
    button(&h, "Replace").click();
    settle(&mut h);
    let html = std::fs::read_to_string(&out).unwrap();
    assert!(html.starts_with("<!DOCTYPE html>") && html.contains("land/iowa-electricity.csv"));
    let _ = std::fs::remove_file(&out);
}

#[test]
fn a_file_that_is_not_an_archive_says_so() {
    let a = archives();
    let bad = a.dir.join("not-an-archive.lgn");
    std::fs::write(&bad, b"hello, this is not a zip file at all").unwrap();
    let script = Rc::new(RefCell::new(Script::default()));
    let mut h = harness(None, script.clone());
    h.run_steps(1);
    script.borrow_mut().archive = Some(bad);
    button(&h, "Choose an archive…").click();
    settle(&mut h);
    assert!(has(&h, "Cannot open"));
    assert!(has(&h, "Open a Legation archive"), "back at the start");
    assert!(script.borrow().recent.is_empty(), "not remembered");
}

#[test]
fn folders_narrow_the_list_and_the_light_theme() {
    let a = archives();
    let mut h = open_unlocked(Rc::default(), &a.intact);
    button(&h, "legal").click();
    settle(&mut h);
    assert!(has(&h, "3 of 9 records"));
    assert!(h.query_by_label(CAMERA).is_none());
    button(&h, "All records").click();
    settle(&mut h);
    assert!(has(&h, "9 of 9 records"));
    // Sorting the list by size, largest first.
    button(&h, "Size").click();
    settle(&mut h);
    button(&h, "Size ▲").click();
    settle(&mut h);
    assert!(has(&h, "Size ▼"));
    button(&h, "Light theme").click();
    h.run_steps(2);
    assert!(has(&h, "Dark theme"), "the theme switched");
    snap(&mut h, "records_light_by_size");
}

/// A file dropped on the window, as eframe hands it over.
#[derive(Debug)]
struct Dropped(PathBuf);

impl egui::DroppedFile for Dropped {
    fn path(&self) -> &std::path::Path {
        &self.0
    }
    fn bytes(&self) -> Result<Vec<u8>, String> {
        std::fs::read(&self.0).map_err(|e| e.to_string())
    }
}

#[test]
fn drop_a_file_then_reopen_it_from_the_recent_list() {
    let a = archives();
    let script = Rc::new(RefCell::new(Script::default()));
    let mut h = harness(None, script.clone());
    h.run_steps(1);
    assert!(has(&h, "Open a Legation archive"));
    h.input_mut()
        .dropped_files
        .push(std::sync::Arc::new(Dropped(a.intact.clone())));
    settle(&mut h);
    assert!(
        has(&h, "sample.lgn: public facts"),
        "the dropped file opened"
    );
    button(&h, "Close archive").click();
    h.run_steps(2);
    // The start screen lists it among the recent archives.
    let recent = a.intact.display().to_string();
    h.get_by_role_and_label(Role::Link, &recent).click();
    settle(&mut h);
    assert!(
        has(&h, "sample.lgn: public facts"),
        "reopened from the list"
    );
    assert_eq!(
        script.borrow().recent,
        vec![a.intact.clone()],
        "listed once"
    );
}

#[test]
fn a_verification_shows_its_progress_and_can_be_cancelled() {
    let a = archives();
    let jobs = Arc::new(Holding::default());
    let mut h = harness_on(Some(a.intact.clone()), Rc::default(), jobs.clone());
    settle(&mut h);
    type_passphrase(&mut h, legation_tests::PASSPHRASE);
    button(&h, "Unlock").click();
    settle(&mut h);
    button(&h, "Verify archive").click();
    h.run_steps(1);
    // The job is held: the window shows it running, and stays usable.
    jobs.hold.store(true, std::sync::atomic::Ordering::SeqCst);
    button(&h, "Verify everything (render)").click();
    h.run_steps(2);
    assert!(
        h.query_by_role(Role::ProgressIndicator).is_some(),
        "a progress bar"
    );
    snap(&mut h, "verify_in_progress");
    button(&h, "Cancel").click();
    h.run_steps(2);
    assert!(has(&h, "cancelling…"));
    jobs.release();
    settle(&mut h);
    assert!(has(
        &h,
        "Verification (render) cancelled before the end: nothing is proven."
    ));
    assert!(h.query_by_role(Role::ProgressIndicator).is_none());
}

#[test]
fn a_long_document_is_read_in_parts() {
    use legation_document::{Block, Document, Span};
    let doc = Document {
        title: "Long".into(),
        blocks: (0..1000)
            .map(|i| Block::Paragraph {
                spans: vec![Span::plain(format!("paragraph {i}"))],
            })
            .collect(),
    };
    let mut view = legation_viewer::document::DocumentView::new(doc, None);
    let mut h = Harness::builder()
        .with_size(egui::vec2(800.0, 600.0))
        .with_context_setup(legation_viewer::set_fonts)
        .build_ui(move |ui| {
            egui::ScrollArea::vertical().show(ui, |ui| view.ui(ui));
        });
    h.run();
    assert!(has(&h, "Blocks 1–300 of 1000"));
    assert!(has(&h, "paragraph 299"));
    assert!(!has(&h, "paragraph 300"), "only one part is laid out");
    h.get_all_by_label("Next part ▶").next().unwrap().click();
    h.run();
    assert!(has(&h, "Blocks 301–600 of 1000"));
    assert!(has(&h, "paragraph 300") && !has(&h, "paragraph 299"));
}

/// The search field: focused, emptied, `text` typed, and the search run.
fn search_for(h: &mut H, text: &str) {
    h.get_by_role(Role::TextInput).focus();
    h.run_steps(1);
    h.key_press_modifiers(egui::Modifiers::COMMAND, egui::Key::A);
    h.run_steps(1);
    h.key_press(egui::Key::Backspace);
    h.run_steps(1);
    if !text.is_empty() {
        h.get_by_role(Role::TextInput).type_text(text);
    }
    settle(h);
}

#[test]
fn a_format_2_archive_lists_page_by_page_scrolls_and_finds_a_record() {
    let path = support::national();
    // Before unlocking, the signed head's record count: 2.0 has no entry
    // a record to count.
    let mut locked = harness(Some(path.to_path_buf()), Rc::default());
    settle(&mut locked);
    assert!(has(&locked, "9,000 records in sealed bundles, "));
    drop(locked);
    let mut h = open_unlocked(Rc::default(), path);
    // The list's length comes from the index; only the first page's rows
    // are read to show the first rows.
    assert!(has(&h, "9,000 of 9,000 records"));
    assert!(has(&h, "Person 0"), "the first row");
    let s = h.state_mut().summary();
    assert_eq!(s["records"], 9000);
    assert_eq!(s["visible"], 9000);
    assert_eq!(s["rows"][1], "Person 1");
    assert!(
        h.query_by_label("Person 4999").is_none(),
        "page 1 not shown"
    );

    // Down the list by 5,000 rows: page 1 is read when its rows show.
    h.key_press(egui::Key::ArrowDown);
    for _ in 0..4999 {
        h.key_press(egui::Key::ArrowDown);
    }
    h.run_steps(2);
    settle(&mut h);
    assert!(has(&h, "Person 4999"), "a row of the second page");
    h.key_press(egui::Key::Enter);
    settle(&mut h);
    assert!(
        has(&h, "reg/f04/p04999.txt"),
        "the row under the cursor opened"
    );
    snap(&mut h, "national_scrolled");

    // Search by title: the pages stream beside the window.
    search_for(&mut h, "person 8765");
    assert!(has(&h, "1 of 9,000 records"));
    click_record(&mut h, "Person 8765");
    assert!(has(&h, "reg/f08/p08765.txt"));
    // By path: a folder's 1,000 records (the pages before it skipped).
    search_for(&mut h, "f03/");
    assert!(has(&h, "1,000 of 9,000 records"));
    assert!(has(&h, "Person 3000"));
    // Held matches sort by a column: the largest title first.
    button(&h, "Title").click();
    settle(&mut h);
    button(&h, "Title ▲").click();
    settle(&mut h);
    assert_eq!(h.state_mut().summary()["rows"][0], "Person 3999");
    search_for(&mut h, "nobody-zzz");
    assert!(has(&h, "0 of 9,000 records"));
    // The folder tree was gathered from the pages.
    search_for(&mut h, "");
    assert!(has(&h, "9,000 of 9,000 records"));
    let folder = h.get_by_role_and_label(Role::Button, "reg");
    folder.click();
    settle(&mut h);
    assert!(has(&h, "9,000 of 9,000 records"));
}

#[test]
fn the_record_shown_exports_a_proof_that_checks_without_the_archive() {
    let path = support::national();
    let script = Rc::new(RefCell::new(Script::default()));
    let mut h = open_unlocked(script.clone(), path);
    search_for(&mut h, "person 4242");
    click_record(&mut h, "Person 4242");
    let out = archives()
        .dir
        .join(format!("p04242-{}.proof", std::process::id()));
    let _ = std::fs::remove_file(&out);
    script.borrow_mut().save = Some(out.clone());
    button(&h, "Export proof…").click();
    settle(&mut h);
    assert!(
        has(&h, "Exported"),
        "{:?}",
        h.state_mut().summary()["export"]
    );
    let bytes = std::fs::read(&out).unwrap();
    let proof = legation_format::v2::proof::Proof::parse(&bytes).unwrap();
    let issuer = legation_tests::issuer().public();
    let record = b"Person 4242 of the register.\n";
    proof
        .check(Some(&issuer), Some(record))
        .expect("the proof checks with the record and the issuer's key");
    assert!(
        proof
            .check(Some(&issuer), Some(b"Person 4243 of the register.\n"))
            .is_err(),
        "other bytes are refused"
    );
    assert!(
        proof
            .check(Some(&legation_tests::other_issuer().public()), Some(record))
            .is_err(),
        "another issuer is refused"
    );
    let _ = std::fs::remove_file(&out);

    // A format 1.x record says why it has none, and writes nothing.
    let script = Rc::new(RefCell::new(Script::default()));
    let mut h = open_unlocked(script.clone(), &archives().intact);
    click_record(&mut h, "iowa-electricity.csv");
    assert!(has(
        &h,
        "No proof for this record: a format 1.x archive carries no records tree"
    ));
    script.borrow_mut().save = Some(out.clone());
    button(&h, "Export proof…").click();
    settle(&mut h);
    assert!(!out.exists(), "a 1.x record exports no proof");
}

#[test]
fn a_large_archive_reads_only_the_pages_shown_and_lists_folders_when_asked() {
    let path = support::large();
    let reads = support::Reads::default();
    let script = Rc::new(RefCell::new(Script {
        reads: Some(reads.clone()),
        ..Default::default()
    }));
    let mut h = open_unlocked(script, path);
    let total = support::LARGE_RECORDS;
    assert!(has(
        &h,
        &format!("{t} of {t} records", t = thousands(total))
    ));
    assert!(has(&h, "Person 0"), "the first row");
    // Unlocking read the first screen's page and no other: no folder survey.
    assert_eq!(support::pages_read(path, &reads), vec![0]);
    assert!(h.query_by_label("reg").is_none(), "no folder tree yet");
    assert!(has(&h, "17 pages"), "what listing the folders reads");
    snap(&mut h, "large_folders_offered");

    // Asked for, the survey reads every page and shows the tree.
    button(&h, "List folders (reads the whole catalog)").click();
    settle(&mut h);
    assert_eq!(
        support::pages_read(path, &reads),
        (0..17).collect::<Vec<_>>()
    );
    assert!(h
        .query_by_label("List folders (reads the whole catalog)")
        .is_none());
    // `reg` and its 68 folders `f00` to `f67`.
    assert_eq!(h.state_mut().summary()["folders"], 69);
    button(&h, "reg").click();
    settle(&mut h);
    assert!(has(
        &h,
        &format!("{t} of {t} records", t = thousands(total))
    ));
}

#[test]
fn a_damaged_2_0_bundle_says_which_records_it_holds_without_reading_pages() {
    // One byte of the register's only bundle changed.
    let good = std::fs::read(support::national()).unwrap();
    let a = legation_reader::Archive::open(legation_reader::source::MemSource::new(
        good.clone(),
        "national",
    ))
    .unwrap();
    let e = a
        .entries()
        .iter()
        .find(|e| e.name == "b/00000000")
        .unwrap()
        .clone();
    let mut bad = good;
    bad[(e.data_offset() + e.size / 2) as usize] ^= 0x40;
    let path = archives()
        .dir
        .join(format!("national-bad-bundle-{}.lgn", std::process::id()));
    std::fs::write(&path, &bad).unwrap();

    let reads = support::Reads::default();
    let script = Rc::new(RefCell::new(Script {
        reads: Some(reads.clone()),
        ..Default::default()
    }));
    let mut h = open_unlocked(script, &path);
    button(&h, "Verify archive").click();
    settle(&mut h);
    button(&h, "Verify fixity").click();
    settle(&mut h);
    assert!(has(&h, "DAMAGED"));
    let pages_before = support::pages_read(&path, &reads);
    h.get_by_label_contains("b/00000000: ").click();
    h.run_steps(2);
    settle(&mut h);
    // Nothing of the catalog read for the answer: the index says it.
    assert!(
        has(
            &h,
            "b/00000000 is bundle 1 of 1: it stores the bytes of the records of catalog pages 1 to 3"
        ),
        "{:?}",
        h.state_mut().summary()
    );
    assert!(has(
        &h,
        "records 1 to 9000 in path order (from the first up to \u{201c}reg/f08/p08999.txt\u{201d})"
    ));
    assert_eq!(support::pages_read(&path, &reads), pages_before);
    let _ = std::fs::remove_file(&path);
}

#[test]
fn a_2_0_catalog_page_or_parity_entry_is_told_from_the_index() {
    let a = legation_reader::Archive::open(
        legation_reader::source::FileSource::open(support::national()).unwrap(),
    )
    .unwrap();
    let u = a
        .unlock(&[legation_reader::Key::Identity(legation_tests::identity())])
        .unwrap();
    let page = legation_viewer::catalog::entry_records(&u, "c/00000001").unwrap();
    assert_eq!(page.first, Some(4096));
    assert!(
        page.message.starts_with(
            "c/00000001 is catalog page 2 of 3: it lists records 4097 to 8192 in path order \
             (after \u{201c}reg/f04/p04095.txt\u{201d} up to \u{201c}reg/f08/p08191.txt\u{201d})"
        ),
        "{}",
        page.message
    );
    let parity = legation_viewer::catalog::entry_records(&u, "p/00000000").unwrap();
    assert_eq!(parity.first, None);
    assert!(
        parity.message.contains("holds no record"),
        "{}",
        parity.message
    );
    assert!(legation_viewer::catalog::entry_records(&u, "c/00000003")
        .unwrap()
        .message
        .contains("not one of the catalog's pages"));
    // 1.x: one record an entry, found through the catalog.
    let a = legation_reader::Archive::open(
        legation_reader::source::FileSource::open(&archives().intact).unwrap(),
    )
    .unwrap();
    let u = a
        .unlock(&[legation_reader::Key::Identity(legation_tests::identity())])
        .unwrap();
    assert!(legation_viewer::catalog::entry_records(&u, "r/00000000").is_none());
}

/// Whether `inner` lies wholly inside the window of `size`.
fn in_window(inner: egui::Rect, size: egui::Vec2) -> bool {
    egui::Rect::from_min_size(egui::Pos2::ZERO, size).contains_rect(inner)
}

#[test]
fn scans_come_first_fitted_to_the_pane_at_1280x800() {
    scans_come_first_fitted_to_the_pane_with_the_page_buttons_in_view(1280.0, 800.0);
}

#[test]
fn scans_come_first_fitted_to_the_pane_at_1024x640() {
    scans_come_first_fitted_to_the_pane_with_the_page_buttons_in_view(1024.0, 640.0);
}

fn scans_come_first_fitted_to_the_pane_with_the_page_buttons_in_view(w: f32, h_: f32) {
    let a = archives();
    {
        let size = egui::vec2(w, h_);
        let mut h = open_unlocked_sized(Rc::default(), &a.intact, size);
        // A photograph: the whole image in view at once, not its facts.
        click_record(&mut h, CAMERA);
        let img = h.get_by_role(Role::Image).rect();
        assert!(in_window(img, size), "{size:?}: the image at {img:?}");
        assert!(img.height() > size.y * 0.4, "{size:?}: fitted, {img:?}");
        assert!(has(&h, "Facts about this record"), "the facts folded below");
        assert!(
            !has(&h, "512 × 512") || h.query_by_label("Width").is_none(),
            "facts folded"
        );

        // A multi-page record: the page fitted, the buttons and the strip
        // of pages in view; PageDown and PageUp turn the pages.
        click_record(&mut h, "multipage.tif");
        assert!(
            h.query_by_role_and_label(Role::Button, "2").is_some(),
            "page 2 unseen"
        );
        let next = button(&h, "Next page ▶").rect();
        assert!(in_window(next, size), "{size:?}: next at {next:?}");
        let img = h.get_by_role(Role::Image).rect();
        assert!(in_window(img, size), "{size:?}: the page at {img:?}");
        h.snapshot(format!("scan_{w}x{h_}"));
        h.key_press(egui::Key::PageDown);
        h.run_steps(2);
        settle(&mut h);
        assert!(has(&h, "Page 2 of "), "PageDown turned the page");
        let img = h.get_by_role(Role::Image).rect();
        assert!(in_window(img, size), "{size:?}: page 2 at {img:?}");
        h.key_press(egui::Key::PageUp);
        h.run_steps(2);
        settle(&mut h);
        assert!(has(&h, "Page 1 of "), "PageUp turned it back");
        // The strip: page 2 by its number until seen, then its thumbnail.
        assert!(
            h.query_by_role_and_label(Role::Button, "2").is_none(),
            "page 2 seen: a thumbnail in the strip"
        );
    }
}

#[test]
fn after_a_wrong_passphrase_retyping_and_enter_unlock() {
    let a = archives();
    let mut h = harness(Some(a.intact.clone()), Rc::default());
    settle(&mut h);
    type_passphrase(&mut h, "not the passphrase");
    h.key_press(egui::Key::Enter);
    settle(&mut h);
    assert!(has(&h, "Wrong passphrase or identity"));
    let field = h.get_by_role(Role::PasswordInput);
    assert!(field.is_focused(), "the field has the keyboard again");
    assert_eq!(
        field.value().unwrap_or_default(),
        "",
        "emptied for retyping"
    );
    // Typed straight away, no click: the keys go to the field.
    h.event(egui::Event::Text(legation_tests::PASSPHRASE.into()));
    h.run_steps(1);
    h.key_press(egui::Key::Enter);
    settle(&mut h);
    assert!(has(&h, "9 of 9 records"), "unlocked");
}

/// When the window asks to be drawn again after the last frame
/// (`Duration::MAX`: not until something happens).
fn next_frame(h: &H) -> std::time::Duration {
    h.output().viewport_output[&egui::ViewportId::ROOT].repaint_delay
}

#[test]
fn the_window_repaints_only_for_changes_and_progress() {
    use std::time::Duration;
    let a = archives();
    let jobs = Arc::new(Holding::default());
    let mut h = harness_on(Some(a.intact.clone()), Rc::default(), jobs.clone());
    settle(&mut h);
    type_passphrase(&mut h, legation_tests::PASSPHRASE);
    // Unlocking (held): its spinner turns a step at a time, not every frame.
    jobs.hold.store(true, std::sync::atomic::Ordering::SeqCst);
    button(&h, "Unlock").click();
    h.run_steps(3);
    assert!(h.query_by_role(Role::ProgressIndicator).is_some());
    let d = next_frame(&h);
    assert!(
        d >= Duration::from_millis(200) && d < Duration::MAX,
        "{d:?}"
    );
    jobs.release();
    settle(&mut h);
    h.run_steps(2);
    assert!(has(&h, "9 of 9 records"));
    assert_eq!(next_frame(&h), Duration::MAX, "idle: no frame asked for");

    // A verification running while the record tab shows: nothing on
    // screen moves, so no frame until it ends (it wakes the window).
    button(&h, "Verify archive").click();
    h.run_steps(1);
    jobs.hold.store(true, std::sync::atomic::Ordering::SeqCst);
    button(&h, "Verify fixity").click();
    h.run_steps(6);
    let d = next_frame(&h);
    assert!(
        d >= Duration::from_millis(200) && d < Duration::MAX,
        "the bar moves: {d:?}"
    );
    button(&h, "Record").click();
    h.run_steps(3);
    assert_eq!(next_frame(&h), Duration::MAX, "nothing shown moves");
    jobs.release();
    settle(&mut h);
    button(&h, "Verify archive").click();
    h.run_steps(2);
    assert!(has(&h, "Intact: no problem found at the fixity level."));
}

#[test]
fn an_archive_not_checked_at_opening_says_so() {
    // Reads counted: opened as by URL, without the fixity check.
    let a = archives();
    let script = Rc::new(RefCell::new(Script {
        reads: Some(support::Reads::default()),
        ..Default::default()
    }));
    let mut h = harness(Some(a.intact.clone()), script);
    settle(&mut h);
    assert!(has(&h, "Fixity not checked yet"), "on the locked screen");
    button(&h, "Verify fixity").click();
    settle(&mut h);
    assert!(!has(&h, "Fixity not checked yet"));
    assert!(has(&h, "Intact: no problem found at the fixity level."));
}

/// The text field labelled `label`: focused, its text selected and
/// replaced by `text`.
fn retype(h: &mut H, label: &str, text: &str) {
    h.get_by_role_and_label(Role::TextInput, label).focus();
    h.run();
    h.key_press_modifiers(egui::Modifiers::COMMAND, egui::Key::A);
    h.run();
    h.get_by_role_and_label(Role::TextInput, label)
        .type_text(text);
    h.run();
}

#[test]
fn without_the_systems_dialogs_a_built_in_chooser_opens_files() {
    let a = archives();
    let script = Rc::new(RefCell::new(Script {
        no_dialogs: true,
        ..Default::default()
    }));
    let mut h = harness(None, script.clone());
    h.run();
    button(&h, "Choose an archive…").click();
    h.run();
    assert!(has(&h, "No portal here"), "says why, and what to do");
    // To the test folder by typing it, then the archive.
    retype(&mut h, "Folder", &a.dir.display().to_string());
    h.key_press(egui::Key::Enter);
    h.run();
    assert!(!has(&h, "reader.key"), "only archives listed");
    button(&h, "sample.lgn").click();
    h.run();
    button(&h, "Open").click();
    settle(&mut h);
    assert!(
        has(&h, "sample.lgn: public facts"),
        "opened from the chooser"
    );

    // The identity file, from the same folder (key files listed).
    button(&h, "Choose identity file…").click();
    h.run();
    button(&h, "reader.key").click();
    h.run();
    button(&h, "Open").click();
    h.run();
    button(&h, "Unlock").click();
    settle(&mut h);
    assert!(
        has(&h, "9 of 9 records"),
        "unlocked with the chosen identity"
    );

    // An export: saved under the name typed.
    click_record(&mut h, "iowa-electricity.csv");
    let out = a.dir.join(format!("chosen-{}.csv", std::process::id()));
    let _ = std::fs::remove_file(&out);
    button(&h, "Export original…").click();
    h.run();
    retype(
        &mut h,
        "File name",
        &out.file_name().unwrap().to_string_lossy(),
    );
    button(&h, "Save").click();
    settle(&mut h);
    assert_eq!(
        std::fs::read(&out).unwrap(),
        std::fs::read(a.dir.join("records/land/iowa-electricity.csv")).unwrap()
    );
    let _ = std::fs::remove_file(&out);
}

#[test]
fn loading_says_what_runs_and_what_is_left() {
    let a = archives();
    let jobs = Arc::new(Holding::default());
    jobs.hold.store(true, std::sync::atomic::Ordering::SeqCst);
    let mut h = harness_on(Some(a.intact.clone()), Rc::default(), jobs.clone());
    h.run_steps(2);
    assert!(has(&h, "Opening sample.lgn ("), "the archive and its size");
    assert!(has(
        &h,
        "2. checking its signature and reading its manifest and index…"
    ));
    jobs.release();
    settle(&mut h);
    type_passphrase(&mut h, legation_tests::PASSPHRASE);
    button(&h, "Unlock").click();
    settle(&mut h);
    // A search under way says what it found so far, not "n of m".
    jobs.hold.store(true, std::sync::atomic::Ordering::SeqCst);
    let search = h.get_by_role(Role::TextInput);
    search.focus();
    h.run_steps(1);
    h.get_by_role(Role::TextInput).type_text("iowa");
    h.run_steps(3);
    assert!(has(&h, "0 found so far among 9 records"));
    assert!(!has(&h, "of 9 records"));
    jobs.release();
    settle(&mut h);
    assert!(has(&h, "1 of 9 records"));
}

/// A format 2.0 archive of two records opened by 2 of 3 ministries
/// (a quorum slot, SPEC §7.9) or by the test passphrase (the sealed
/// envelope beside it), in `dir`; with each ministry's share file (as
/// `legation share` writes them) and the second ministry's share of
/// another archive with the same holders.
struct Quorum {
    archive: PathBuf,
    /// `finance.share`, `interior.share`, `justice.share`.
    files: Vec<PathBuf>,
    /// Interior's share of the other archive.
    foreign: PathBuf,
    /// Justice's share as a sheet's words.
    words: Vec<String>,
}

fn quorum_archive(dir: &std::path::Path) -> Quorum {
    use legation_format::keys::Identity;
    let ids: Vec<Identity> = (0..3u8)
        .map(|i| Identity::from_bytes([60 + i; 32]))
        .collect();
    let make = |name: &str, seed: u64| {
        let policy = support::two_of(&ids);
        let bytes =
            legation_tests::quorum_archive(&[policy], true, seed, &["deeds.txt", "register.txt"]);
        let path = dir.join(name);
        std::fs::write(&path, &bytes).unwrap();
        let a =
            legation_reader::Archive::open(legation_reader::source::MemSource::new(bytes, name))
                .unwrap();
        let m = a.manifest().clone();
        let Some(legation_format::crypto::KeySlot::Quorum(q)) = m.key_slots.last() else {
            panic!("no quorum slot");
        };
        let shares: Vec<_> = ids
            .iter()
            .map(|i| {
                q.unwrap_holders(&m.archive_id, &[i.secret()], &[], &mut |_, _| true)
                    .pop()
                    .unwrap()
            })
            .collect();
        (path, shares)
    };
    let (archive, shares) = make("quorum.lgn", 31);
    let names = [
        "Ministry of Finance",
        "Ministry of the Interior",
        "Ministry of Justice",
    ];
    let files: Vec<PathBuf> = ["finance", "interior", "justice"]
        .iter()
        .zip(&shares)
        .zip(names)
        .map(|((f, s), name)| {
            let p = dir.join(format!("{f}.share"));
            std::fs::write(&p, s.to_file(name, 2, 3).as_bytes()).unwrap();
            p
        })
        .collect();
    let (_, other) = make("other.lgn", 32);
    let foreign = dir.join("interior-other.share");
    std::fs::write(
        &foreign,
        other[1]
            .to_file("Ministry of the Interior", 2, 3)
            .as_bytes(),
    )
    .unwrap();
    let words = legation_format::quorum::words::encode(&shares[2]);
    Quorum {
        archive,
        files,
        foreign,
        words,
    }
}

/// Adds the share file the scripted dialog answers with.
fn add_share_file(h: &mut H, script: &Rc<RefCell<Script>>, file: &std::path::Path) {
    script.borrow_mut().key_file = Some(file.to_owned());
    button(h, "Add share file…").click();
    h.run_steps(2);
}

/// Replaces the text of the one field with `role` by `text`.
fn type_into(h: &mut H, role: Role, text: &str) {
    h.get_by_role(role).focus();
    h.run_steps(1);
    h.key_press_modifiers(egui::Modifiers::COMMAND, egui::Key::A);
    h.run_steps(1);
    h.get_by_role(role).type_text(text);
    h.run_steps(1);
}

fn type_words(h: &mut H, words: &str) {
    type_into(h, Role::MultilineTextInput, words);
    // The field grows to hold the words: the button moves below.
    h.run_steps(2);
    button(h, "Add words").click();
    h.run_steps(2);
}

#[test]
fn key_holders_shares_unlock_a_quorum_archive() {
    let dir = archives().dir.join("quorum");
    std::fs::create_dir_all(&dir).unwrap();
    let q = quorum_archive(&dir);
    let script = Rc::new(RefCell::new(Script::default()));
    let mut h = harness(Some(q.archive.clone()), script.clone());
    settle(&mut h);
    // The policy's shape, as `info` says it; no holder's key.
    assert!(has(
        &h,
        "passphrase (Argon2id), quorum 2 of (x25519, x25519, x25519)"
    ));
    assert!(has(&h, "Key slot 1: quorum 2 of (x25519, x25519, x25519)"));
    assert!(has(&h, "Shares: 0 of 2 shares (of 3 holders)"));

    // A share of another archive, the same holders: refused, not listed.
    add_share_file(&mut h, &script, &q.foreign);
    assert!(
        has(&h, "Share not added: the share of holder 2 is of archive"),
        "another archive's share named"
    );
    assert!(has(&h, "Shares: 0 of 2 shares"));
    // A flipped bit in a share file: its checksum names it.
    let mut text = std::fs::read_to_string(&q.files[1]).unwrap();
    let at = text.rfind(' ').unwrap() + 30;
    let flipped = if &text[at..at + 1] == "0" { "1" } else { "0" };
    text.replace_range(at..at + 1, flipped);
    let bad = dir.join("interior-flipped.share");
    std::fs::write(&bad, text).unwrap();
    add_share_file(&mut h, &script, &bad);
    assert!(has(&h, "its checksum fails: damaged or mistyped"));

    // One ministry: listed by name and index; the same again refused.
    add_share_file(&mut h, &script, &q.files[0]);
    assert!(has(
        &h,
        "Ministry of Finance: holder 1 of key slot 1 (from finance.share)"
    ));
    assert!(has(&h, "Shares: 1 of 2 shares (of 3 holders)"));
    add_share_file(&mut h, &script, &q.files[0]);
    assert!(has(
        &h,
        "two shares given for holder 1; each holder takes part once"
    ));
    // One share is too few: named, and the form stays.
    button(&h, "Unlock").click();
    settle(&mut h);
    assert!(
        has(&h, "not enough shares: node top (2 of 3) has 1"),
        "K-1 shares refused"
    );
    assert!(h.state_mut().records_listed().is_none(), "still locked");
    snap(&mut h, "quorum_one_share");

    // Removed, then added again.
    button(&h, "Remove holder 1").click();
    h.run_steps(2);
    assert!(!has(&h, "Ministry of Finance: holder 1"));
    assert!(has(&h, "Shares: 0 of 2 shares"));
    add_share_file(&mut h, &script, &q.files[0]);
    assert!(has(&h, "Shares: 1 of 2 shares"));

    // Justice types its sheet's words, one mistyped first: the word named.
    let mut typo = q.words.clone();
    let w = &mut typo[4];
    let last = if w.ends_with('b') { 'd' } else { 'b' };
    w.pop();
    w.push(last);
    type_words(&mut h, &typo.join(" "));
    assert!(has(
        &h,
        &format!("Share not added: share: word 5 '{}'", typo[4])
    ));
    assert!(has(&h, "Shares: 1 of 2 shares"));
    // The right words make two: the archive unlocks at once.
    type_words(&mut h, &q.words.join(" "));
    settle(&mut h);
    assert!(has(&h, "2 of 2 records"), "unlocked with two shares");
}

#[test]
fn a_quorum_archive_still_opens_with_its_passphrase() {
    let dir = archives().dir.join("quorum-passphrase");
    std::fs::create_dir_all(&dir).unwrap();
    let q = quorum_archive(&dir);
    let mut h = open_unlocked(Rc::default(), &q.archive);
    assert!(has(&h, "2 of 2 records"));
    // And two share files alone open it too, with no word typed.
    let script = Rc::new(RefCell::new(Script::default()));
    h = harness(Some(q.archive.clone()), script.clone());
    settle(&mut h);
    add_share_file(&mut h, &script, &q.files[2]);
    add_share_file(&mut h, &script, &q.files[1]);
    settle(&mut h);
    assert!(
        has(&h, "2 of 2 records"),
        "unlocked with Justice and Interior"
    );
}
