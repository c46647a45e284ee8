//! The viewer on a platform that reads away from the window, as the
//! browser does (its reader runs in a Web Worker): opening, unlocking,
//! the list's pages, a search, the folder survey, looking a record up,
//! rendering it and reading its first bytes for the raw view all go
//! through the platform's `Offload`, and the window itself reads no
//! catalog page.

#[allow(dead_code)]
mod support;

use std::cell::RefCell;
use std::path::{Path, PathBuf};
use std::rc::Rc;
use std::sync::mpsc::Receiver;
use std::sync::{Arc, Mutex};

use egui::accesskit::Role;
use egui_kittest::kittest::Queryable as _;
use egui_kittest::Harness;
use legation_format::catalog::CatalogRecord;
use legation_format::crypto::DataKey;
use legation_reader::decode::Host;
use legation_reader::source::{FileSource, ReadAt};
use legation_reader::{Archive, Key, Level, Report, Unlocked};
use legation_viewer::catalog::{self, Folders, Found, Question, Row};
use legation_viewer::jobs::{Job, Progress, Spawner};
use legation_viewer::platform::{
    ExportOf, KeyFile, Offload, Picked, Platform, RenderedRecord, Wake,
};
use legation_viewer::App;

use support::{has, settle, Holding, Script, Scripted};

/// Does each request at once on its own copy of the archive, noting what
/// was asked.
struct Away {
    archive: Archive,
    asked: Arc<Mutex<Vec<&'static str>>>,
}

impl Away {
    fn note(&self, what: &'static str) {
        self.asked.lock().unwrap().push(what);
    }

    fn unlocked(&self, key: &DataKey) -> Unlocked {
        self.archive
            .unlock_with_data_key(DataKey::from_bytes(*key.as_bytes()))
            .expect("the key the window holds opens the archive")
    }
}

/// A job already done.
fn done<T: Send + 'static>(wake: Wake, value: T) -> Job<T> {
    let (job, c) = Job::pending(wake);
    c.finish(value);
    job
}

impl Offload for Away {
    fn verify(
        &self,
        _: &Path,
        _: Option<&DataKey>,
        _: Level,
        _: Option<[u8; 32]>,
        wake: Wake,
    ) -> Job<Report> {
        self.note("verify");
        done(wake, self.archive.verify_fixity(None, &mut |_, _| true))
    }
    fn render(
        &self,
        _: &Path,
        key: &DataKey,
        record: &CatalogRecord,
        wake: Wake,
    ) -> Job<Result<RenderedRecord, String>> {
        self.note("render");
        let mut first_page = None;
        let r = self
            .unlocked(key)
            .render_record_with(&Host::native(), record, &mut |n, cbor| {
                if n == 1 {
                    first_page = Some(cbor.to_vec());
                }
            })
            .map(|rendered| RenderedRecord {
                rendered,
                first_page,
            })
            .map_err(|e| e.to_string());
        done(wake, r)
    }
    fn render_page(
        &self,
        _: &Path,
        key: &DataKey,
        record: &CatalogRecord,
        page: u32,
        pages: u32,
        wake: Wake,
    ) -> Job<Result<Vec<u8>, String>> {
        self.note("render_page");
        let r = self
            .unlocked(key)
            .render_page(&Host::native(), record, page, pages)
            .map_err(|e| e.to_string());
        done(wake, r)
    }
    fn unlock(&self, _: &Path, keys: Vec<Key>, wake: Wake) -> Job<Result<DataKey, String>> {
        self.note("unlock");
        let r = self
            .archive
            .unlock(&keys)
            .map(|u| DataKey::from_bytes(*u.data_key().as_bytes()))
            .map_err(|e| legation_viewer::unlock_error(&e));
        done(wake, r)
    }
    fn prepare_open(&self, _: &Path, wake: Wake) -> Option<Job<Result<(), String>>> {
        self.note("prepare_open");
        Some(done(wake, Ok(())))
    }
    fn read_page(
        &self,
        _: &Path,
        key: &DataKey,
        n: usize,
        wake: Wake,
    ) -> Job<Result<Vec<Row>, String>> {
        self.note("read_page");
        done(wake, catalog::read_page(&self.unlocked(key), n))
    }
    fn search(
        &self,
        _: &Path,
        key: &DataKey,
        question: &Question,
        wake: Wake,
    ) -> (Job<Result<bool, String>>, Receiver<Found>) {
        self.note("search");
        let (tx, rx) = std::sync::mpsc::channel();
        let r = catalog::search(
            &self.unlocked(key),
            question,
            &Progress::default(),
            &mut |f| tx.send(f).is_ok(),
        );
        (done(wake, r), rx)
    }
    fn survey(
        &self,
        _: &Path,
        key: &DataKey,
        wake: Wake,
    ) -> (Job<Result<bool, String>>, Receiver<Folders>) {
        self.note("survey");
        let (tx, rx) = std::sync::mpsc::channel();
        let r = catalog::survey(&self.unlocked(key), &Progress::default(), &mut |b| {
            tx.send(b).is_ok()
        });
        (done(wake, r), rx)
    }
    fn find(
        &self,
        _: &Path,
        key: &DataKey,
        path: &str,
        wake: Wake,
    ) -> Job<Result<CatalogRecord, String>> {
        self.note("find");
        let r = self.unlocked(key).find(path).map_err(|e| e.to_string());
        done(wake, r)
    }
    fn read_raw(
        &self,
        _: &Path,
        key: &DataKey,
        record: &CatalogRecord,
        max: u64,
        wake: Wake,
    ) -> Job<Result<Vec<u8>, String>> {
        self.note("read_raw");
        let r = self
            .unlocked(key)
            .read_range(record, 0, max)
            .map_err(|e| e.to_string());
        done(wake, r)
    }
    fn export(
        &self,
        _: &Path,
        key: &DataKey,
        record: &CatalogRecord,
        what: &ExportOf,
        wake: Wake,
    ) -> Job<Result<Vec<u8>, String>> {
        self.note("export");
        let host = Host::native();
        let mut out = Vec::new();
        let r = legation_viewer::export::write_export(
            &self.unlocked(key),
            record,
            what,
            || &host,
            &mut out,
            &mut |_| {},
        );
        done(wake, r.map(|()| out))
    }
    fn entry_record(
        &self,
        _: &Path,
        key: &DataKey,
        entry: &str,
        wake: Wake,
    ) -> Job<Result<String, String>> {
        self.note("entry_record");
        let r = catalog::record_in_entry(&self.unlocked(key), entry, &Progress::default());
        done(wake, r)
    }
}

/// The scripted platform (its reads counted), with [`Away`] as its
/// `Offload`.
struct Offloaded(Scripted, Away);

impl Platform for Offloaded {
    fn spawner(&self) -> &dyn Spawner {
        self.0.spawner()
    }
    fn decoder_host(&self) -> fn() -> Host {
        self.0.decoder_host()
    }
    fn open_source(&self, path: &Path) -> std::io::Result<Box<dyn ReadAt>> {
        self.0.open_source(path)
    }
    fn pick_archive(&self) -> Option<PathBuf> {
        self.0.pick_archive()
    }
    fn pick_key_file(&self, kind: KeyFile) -> Option<PathBuf> {
        self.0.pick_key_file(kind)
    }
    fn pick_save(&self, suggested: &str) -> Option<PathBuf> {
        self.0.pick_save(suggested)
    }
    fn read_file(&self, path: &Path) -> std::io::Result<Vec<u8>> {
        self.0.read_file(path)
    }
    fn load_recent(&self) -> Vec<PathBuf> {
        self.0.load_recent()
    }
    fn save_recent(&self, recent: &[PathBuf]) {
        self.0.save_recent(recent)
    }
    fn poll_picked(&self) -> Option<Picked> {
        self.0.poll_picked()
    }
    fn checks_on_open(&self, path: &Path, len: u64) -> bool {
        self.0.checks_on_open(path, len)
    }
    fn offload(&self) -> Option<&dyn Offload> {
        Some(&self.1)
    }
}

type H = Harness<'static, App>;

#[test]
fn an_offloading_platform_reads_every_catalog_page_the_window_shows() {
    let path = support::national();
    let reads = support::Reads::default();
    let script = Rc::new(RefCell::new(Script {
        reads: Some(reads.clone()),
        ..Default::default()
    }));
    let asked = Arc::new(Mutex::new(Vec::new()));
    let away = Away {
        archive: Archive::open(FileSource::open(path).unwrap()).unwrap(),
        asked: asked.clone(),
    };
    let platform = Offloaded(Scripted(script.clone(), Arc::new(Holding::default())), away);
    let app = App::new(Box::new(platform), Some(path.to_owned()));
    let mut h: H = Harness::builder()
        .with_size(egui::vec2(1280.0, 800.0))
        .with_max_steps(64)
        .build_ui_state(|ui, app: &mut App| app.ui(ui), app);
    settle(&mut h);
    assert_eq!(h.state_mut().summary()["screen"], "locked");

    let field = h.get_by_role(Role::PasswordInput);
    field.type_text(legation_tests::PASSPHRASE);
    h.run_steps(1);
    h.get_by_role_and_label(Role::Button, "Unlock").click();
    settle(&mut h);
    assert!(has(&h, "9,000 of 9,000 records"));
    assert!(has(&h, "Person 0"), "the first row, read away");
    assert_eq!(
        h.state_mut().summary()["folders"],
        10,
        "reg and its 9 folders"
    );

    // A search streams its rows from the platform too.
    h.get_by_role(Role::TextInput).focus();
    h.run_steps(1);
    h.get_by_role(Role::TextInput).type_text("person 8765");
    settle(&mut h);
    assert!(has(&h, "1 of 9,000 records"));
    h.get_by_role_and_label(Role::Button, "Person 8765").click();
    settle(&mut h);
    let s = h.state_mut().summary();
    assert_eq!(s["record"]["path"], "reg/f08/p08765.txt");
    // No decoder: the record shows raw, its first bytes read away too.
    assert_eq!(s["record"]["state"], "failed", "{s}");
    assert!(s["record"]["error"]
        .as_str()
        .is_some_and(|e| e.contains("no decoder")));
    assert!(has(&h, "bytes, raw:"), "the raw view");

    // Exports of the record shown: their bytes are made away too, and
    // the window reads nothing of the archive for them.
    let before = reads.lock().unwrap().len();
    let dir = &support::archives().dir;
    for (button, name) in [("Export original…", "original"), ("Export proof…", "proof")] {
        let out = dir.join(format!("offload-{name}-{}", std::process::id()));
        let _ = std::fs::remove_file(&out);
        script.borrow_mut().save = Some(out.clone());
        h.get_by_role_and_label(Role::Button, button).click();
        settle(&mut h);
        assert!(
            has(&h, "Exported"),
            "{button}: {}",
            h.state_mut().summary()["export"]
        );
        let bytes = std::fs::read(&out).unwrap();
        let _ = std::fs::remove_file(&out);
        let record = b"Person 8765 of the register.\n";
        if name == "original" {
            assert_eq!(bytes, record);
        } else {
            let proof = legation_format::v2::proof::Proof::parse(&bytes).unwrap();
            let issuer = legation_tests::issuer().public();
            proof
                .check(Some(&issuer), Some(record))
                .expect("the proof made away checks");
        }
    }
    assert_eq!(
        reads.lock().unwrap().len(),
        before,
        "the window read nothing to export"
    );

    let asked = asked.lock().unwrap().clone();
    for what in [
        "prepare_open",
        "unlock",
        "read_page",
        "survey",
        "search",
        "find",
        "render",
        "read_raw",
        "export",
    ] {
        assert!(asked.contains(&what), "{what} not asked for: {asked:?}");
    }
    // The window opened the archive and unlocked it with the key it was
    // given (the end records and the index), and read no catalog page.
    assert!(!reads.lock().unwrap().is_empty());
    assert_eq!(support::pages_read(path, &reads), Vec::<usize>::new());
}

/// The viewer on the archive at `path`, reading away, unlocked with the
/// sample passphrase; and what it asked the platform for.
fn unlocked_away(path: &Path, script: Rc<RefCell<Script>>) -> (H, Arc<Mutex<Vec<&'static str>>>) {
    let asked = Arc::new(Mutex::new(Vec::new()));
    let away = Away {
        archive: Archive::open(FileSource::open(path).unwrap()).unwrap(),
        asked: asked.clone(),
    };
    let platform = Offloaded(Scripted(script, Arc::new(Holding::default())), away);
    let app = App::new(Box::new(platform), Some(path.to_owned()));
    let mut h: H = Harness::builder()
        .with_size(egui::vec2(1280.0, 800.0))
        .with_max_steps(64)
        .build_ui_state(|ui, app: &mut App| app.ui(ui), app);
    settle(&mut h);
    h.get_by_role(Role::PasswordInput)
        .type_text(legation_tests::PASSPHRASE);
    h.run_steps(1);
    h.get_by_role_and_label(Role::Button, "Unlock").click();
    settle(&mut h);
    (h, asked)
}

#[test]
fn an_offloading_platform_finds_the_record_of_a_damaged_entry_away() {
    // A 1.x archive: the record an entry holds is looked for page by
    // page, by the platform, not the window.
    let a = support::archives();
    let reads = support::Reads::default();
    let script = Rc::new(RefCell::new(Script {
        reads: Some(reads.clone()),
        ..Default::default()
    }));
    let (mut h, asked) = unlocked_away(&a.tampered, script);
    let before = reads.lock().unwrap().len();
    h.get_by_role_and_label(Role::Button, "Verify archive")
        .click();
    h.run_steps(1);
    h.get_by_role_and_label(Role::Button, "Verify fixity")
        .click();
    settle(&mut h);
    assert!(has(&h, "DAMAGED: 1 problem(s) found at the fixity level."));
    h.get_by_label_contains(&format!("{}: BLAKE3", a.tampered_entry))
        .click();
    settle(&mut h);
    assert_eq!(
        h.state_mut().summary()["record"]["path"],
        a.tampered_record.as_str()
    );
    assert!(has(&h, "This record cannot be shown"));
    let asked = asked.lock().unwrap().clone();
    for what in ["entry_record", "find", "render"] {
        assert!(asked.contains(&what), "{what} not asked for: {asked:?}");
    }
    assert_eq!(
        reads.lock().unwrap().len(),
        before,
        "the window read nothing to find the record"
    );
}

#[test]
fn an_offloading_platform_shows_a_refused_record_through_the_raw_decoder_away() {
    // The JSON decoder refuses registers/broken.json: the window asks the
    // platform to render it again through the archive's raw decoder, and
    // shows that view under the refusal (issue 23 item 16).
    let a = support::archives();
    let (mut h, asked) = unlocked_away(&a.intact, Rc::default());
    h.get_by_role_and_label(Role::Button, "broken.json").click();
    settle(&mut h);
    let record = &h.state_mut().summary()["record"];
    assert_eq!(record["path"], "registers/broken.json");
    assert_eq!(record["state"], "shown through the raw decoder");
    let error = record["error"].as_str().unwrap().to_owned();
    assert!(
        error.starts_with("decoder json 1.0.0") && error.contains("refuses registers/broken.json"),
        "{error}"
    );
    assert!(has(
        &h,
        "Its decoder does not show this record: decoder json"
    ));
    assert!(
        has(&h, "00000000  7b 22 72 65"),
        "the raw decoder's hex dump"
    );
    let renders = asked
        .lock()
        .unwrap()
        .iter()
        .filter(|&&w| w == "render")
        .count();
    assert_eq!(renders, 2, "its decoder, then the raw decoder, away");
}
