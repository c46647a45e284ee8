//! Test archives made from `samples/records` with the built-in decoders
//! (deterministically: fixed keys, time and random numbers), a tampered
//! copy, and a scripted platform whose dialogs answer what the test says.

use std::cell::RefCell;
use std::path::{Path, PathBuf};
use std::rc::Rc;
use std::sync::{Arc, OnceLock};

use legation_format::catalog::Render;
use legation_format::manifest::DecoderRef;
use legation_format::pack::{self, PackOptions, Renderer};
use legation_format::writer::{ArchiveWriter, RecordMeta, WriterOptions};
use legation_reader::decode::{Host, Loaded};
use legation_reader::source::ReadAt;
use legation_viewer::jobs::{Spawner, ThreadSpawner};
use legation_viewer::platform::Platform;
use rand_core::SeedableRng;
use zeroize::Zeroizing;

/// The test archives, made once per test binary.
pub struct Archives {
    /// Folder holding everything below.
    pub dir: PathBuf,
    /// The intact archive.
    pub intact: PathBuf,
    /// The same with one byte of a record entry changed.
    pub tampered: PathBuf,
    /// The record whose entry was changed.
    pub tampered_record: String,
    /// The entry that was changed.
    pub tampered_entry: String,
    /// An identity file that opens both.
    pub identity: PathBuf,
    /// The issuer's public key file.
    pub issuer_pub: PathBuf,
}

pub fn archives() -> &'static Archives {
    static A: OnceLock<Archives> = OnceLock::new();
    A.get_or_init(make)
}

struct Builtins {
    host: Host,
    decoders: Vec<(Vec<u8>, DecoderRef, Arc<Loaded>, String)>,
}

impl Renderer for Builtins {
    fn cap(&self) -> u64 {
        self.host.limits().record_cap
    }
    fn render(&mut self, meta: &mut RecordMeta, bytes: Option<&[u8]>, _size: u64) {
        let chosen = self
            .decoders
            .iter()
            .find(|d| d.1.media_types.contains(&meta.media_type))
            .or_else(|| {
                self.decoders
                    .iter()
                    .find(|d| d.1.media_types.iter().any(|m| m == "*/*"))
            })
            .expect("a fallback decoder");
        meta.decoder = Some(chosen.3.clone());
        if chosen.1.media_types.iter().any(|m| m == "*/*") {
            return;
        }
        let r = self
            .host
            .render(&chosen.2, &meta.path, bytes.expect("small records"));
        meta.render = Some(match r {
            Ok(r) => Render::Rendered {
                blake3: r.hash(),
                pages: r.pages,
            },
            Err(e) => Render::NotRendered {
                reason: e.to_string(),
            },
        });
    }
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for e in std::fs::read_dir(from).unwrap() {
        let e = e.unwrap();
        let t = to.join(e.file_name());
        if e.file_type().unwrap().is_dir() {
            copy_dir(&e.path(), &t);
        } else {
            std::fs::copy(e.path(), &t).unwrap();
            set_time(&t);
        }
    }
}

/// Copies get today's modification time: give every file the same one so
/// the archive (and the snapshots showing dates) never change.
fn set_time(p: &Path) {
    let t = std::time::UNIX_EPOCH
        + std::time::Duration::from_secs((legation_tests::CREATED - 86_400) as u64);
    std::fs::File::options()
        .write(true)
        .open(p)
        .unwrap()
        .set_modified(t)
        .unwrap();
}

/// The writer options of the test archives: created at `created`,
/// signed by the test issuer, for the test identity and passphrase.
pub fn options(created: i64) -> WriterOptions {
    WriterOptions {
        created,
        issuer: Some(legation_tests::issuer()),
        recipients: vec![legation_tests::identity().public()],
        passphrases: vec![(
            Zeroizing::new(legation_tests::PASSPHRASE.to_owned()),
            legation_tests::CHEAP_KDF,
        )],
        embed_spec: false,
        viewer: None,
    }
}

/// A quorum policy: 2 of these holders' identities.
pub fn two_of(ids: &[legation_format::keys::Identity]) -> legation_format::quorum::Policy {
    use legation_format::quorum::{Holder, Policy};
    Policy::Quorum {
        k: 2,
        members: ids
            .iter()
            .map(|i| Policy::Holder(Holder::X25519(i.public())))
            .collect(),
    }
}

fn make() -> Archives {
    // Under target/tmp (gone with `cargo clean`), one folder per run.
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR"))
        .join(format!("legation-viewer-tests-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let records = dir.join("records");
    copy_dir(
        &Path::new(env!("CARGO_MANIFEST_DIR")).join("../samples/records"),
        &records,
    );
    // A record its decoder refuses, to show the raw bytes.
    std::fs::write(
        records.join("registers/broken.json"),
        b"{\"registers\": [1, 2,",
    )
    .unwrap();
    set_time(&records.join("registers/broken.json"));

    let host = Host::native();
    let mut decoders = Vec::new();
    for wasm in legation_builtin_decoders::ALL {
        let module = legation_meter::meter(wasm, &legation_meter::MeterConfig::default()).unwrap();
        let loaded = host.load(&module, "built-in").unwrap();
        let desc = loaded.decoder_ref();
        decoders.push((module, desc, loaded, String::new()));
    }
    let opts = options(legation_tests::CREATED);
    let rng = rand_chacha::ChaCha20Rng::seed_from_u64(7);
    let mut w = ArchiveWriter::new(std::io::Cursor::new(Vec::new()), opts, rng).unwrap();
    for d in &mut decoders {
        d.3 = w
            .add_decoder(&d.0, d.1.clone(), d.2.uses_vectors())
            .unwrap();
    }
    let mut renderer = Builtins { host, decoders };
    let mut plan = pack::plan(&records, PackOptions::default()).unwrap();
    pack::pack_plan(&mut plan, &mut w, Some(&mut renderer), |_, _| {}).unwrap();
    let bytes = w.finish().unwrap().into_inner();
    let intact = dir.join("sample.lgn");
    std::fs::write(&intact, &bytes).unwrap();

    // Tamper: change one byte in the middle of the largest record entry.
    let a = legation_reader::Archive::open(legation_reader::source::MemSource::new(
        bytes.clone(),
        "sample",
    ))
    .unwrap();
    let e = a
        .entries()
        .iter()
        .filter(|e| e.name.starts_with(legation_format::RECORD_PREFIX))
        .max_by_key(|e| e.size)
        .unwrap()
        .clone();
    let u = a
        .unlock(&[legation_reader::Key::Identity(legation_tests::identity())])
        .unwrap();
    let rec = u
        .list(0, u.record_count())
        .unwrap()
        .into_iter()
        .find(|r| r.entry == e.name)
        .unwrap();
    let mut bad = bytes;
    bad[(e.data_offset() + e.size / 2) as usize] ^= 0x40;
    let tampered = dir.join("tampered.lgn");
    std::fs::write(&tampered, &bad).unwrap();

    let identity = dir.join("reader.key");
    std::fs::write(
        &identity,
        legation_format::keys::format_key_file(
            legation_format::keys::RECIPIENT_SECRET,
            legation_tests::identity().secret(),
            "test reader",
        )
        .as_bytes(),
    )
    .unwrap();
    let issuer_pub = dir.join("issuer.pub");
    std::fs::write(
        &issuer_pub,
        legation_format::keys::format_key_file(
            legation_format::keys::ISSUER_PUBLIC,
            &legation_tests::issuer().public(),
            "test issuer",
        )
        .as_bytes(),
    )
    .unwrap();
    Archives {
        dir,
        intact,
        tampered,
        tampered_record: rec.path,
        tampered_entry: e.name,
        identity,
        issuer_pub,
    }
}

/// What the scripted dialogs answer next, and what the app stored.
#[derive(Default)]
pub struct Script {
    pub archive: Option<PathBuf>,
    pub key_file: Option<PathBuf>,
    pub save: Option<PathBuf>,
    pub recent: Vec<PathBuf>,
    /// When set, every read of an opened archive is noted here.
    pub reads: Option<Reads>,
    /// The host's dialogs cannot open (no xdg-desktop-portal).
    pub no_dialogs: bool,
}

/// The reads of a [`Counting`] source: (offset, length), in order.
pub type Reads = Arc<std::sync::Mutex<Vec<(u64, u64)>>>;

/// A source that notes every read, to count what the viewer reads.
pub struct Counting(pub Box<dyn ReadAt>, pub Reads);

impl ReadAt for Counting {
    fn len(&self) -> u64 {
        self.0.len()
    }
    fn read_exact_at(&self, offset: u64, buf: &mut [u8]) -> std::io::Result<()> {
        self.1.lock().unwrap().push((offset, buf.len() as u64));
        self.0.read_exact_at(offset, buf)
    }
    fn name(&self) -> &str {
        self.0.name()
    }
}

/// The catalog pages (`c/<8 hex>`, by number) that `reads` of the
/// archive at `path` touched, not counting reads reaching the file's end
/// (opening reads the tail in one go, whichever entries it spans).
pub fn pages_read(path: &Path, reads: &Reads) -> Vec<usize> {
    let a =
        legation_reader::Archive::open(legation_reader::source::FileSource::open(path).unwrap())
            .unwrap();
    let len = a.len();
    let reads = reads.lock().unwrap();
    let mut out = Vec::new();
    for e in a.entries() {
        let Some(n) = e
            .name
            .strip_prefix("c/")
            .and_then(|h| usize::from_str_radix(h, 16).ok())
        else {
            continue;
        };
        if reads
            .iter()
            .any(|&(o, l)| o + l < len && o < e.end() && o + l > e.data_offset())
        {
            out.push(n);
        }
    }
    out
}

/// Threads, except that while `hold` is set jobs wait until released:
/// a test can look at a job in progress and cancel it deterministically.
#[derive(Default)]
pub struct Holding {
    pub hold: std::sync::atomic::AtomicBool,
    held: std::sync::Mutex<Vec<Box<dyn FnOnce() + Send>>>,
}

impl Holding {
    /// Stops holding and starts the jobs held so far.
    pub fn release(&self) {
        self.hold.store(false, std::sync::atomic::Ordering::SeqCst);
        for job in std::mem::take(&mut *self.held.lock().unwrap()) {
            ThreadSpawner.spawn(job);
        }
    }
}

impl Spawner for Holding {
    fn spawn(&self, work: Box<dyn FnOnce() + Send>) {
        if self.hold.load(std::sync::atomic::Ordering::SeqCst) {
            self.held.lock().unwrap().push(work);
        } else {
            ThreadSpawner.spawn(work);
        }
    }
}

/// A platform whose dialogs answer from a [`Script`], and whose jobs can
/// be held.
pub struct Scripted(pub Rc<RefCell<Script>>, pub Arc<Holding>);

impl Platform for Scripted {
    fn spawner(&self) -> &dyn Spawner {
        &*self.1
    }
    fn decoder_host(&self) -> fn() -> legation_reader::decode::Host {
        legation_reader::decode::Host::native
    }
    fn open_source(&self, path: &Path) -> std::io::Result<Box<dyn ReadAt>> {
        let file = Box::new(legation_reader::source::FileSource::open(path)?);
        Ok(match &self.0.borrow().reads {
            Some(r) => Box::new(Counting(file, r.clone())),
            None => file,
        })
    }
    /// Reads counted: opened as the browser opens a remote archive, with
    /// no fixity check (it reads every byte) until asked for.
    fn checks_on_open(&self, _path: &Path, _len: u64) -> bool {
        self.0.borrow().reads.is_none()
    }
    fn pick_archive(&self) -> Option<PathBuf> {
        self.0.borrow_mut().archive.take()
    }
    fn dialogs_missing(&self) -> Option<String> {
        self.0
            .borrow()
            .no_dialogs
            .then(|| "No portal here: choose the file below.".to_owned())
    }
    fn pick_key_file(&self, _kind: legation_viewer::platform::KeyFile) -> Option<PathBuf> {
        self.0.borrow_mut().key_file.take()
    }
    fn pick_save(&self, _suggested: &str) -> Option<PathBuf> {
        self.0.borrow_mut().save.take()
    }
    fn read_file(&self, path: &Path) -> std::io::Result<Vec<u8>> {
        std::fs::read(path)
    }
    fn load_recent(&self) -> Vec<PathBuf> {
        self.0.borrow().recent.clone()
    }
    fn save_recent(&self, recent: &[PathBuf]) {
        self.0.borrow_mut().recent = recent.to_vec();
    }
}

/// Records in [`national`]: three catalog pages of format 2.0 (4,096
/// records a page), so that the list reads pages as it scrolls.
pub const NATIONAL_RECORDS: u64 = 9_000;

/// A format 2.0 archive of [`NATIONAL_RECORDS`] small records
/// (`reg/fNN/pNNNNN.txt`, titled `Person N`, in 9 folders), signed by
/// the test issuer, opened by the test passphrase. Made once.
pub fn national() -> &'static Path {
    static A: OnceLock<PathBuf> = OnceLock::new();
    A.get_or_init(|| register("national-2.0.lgn", NATIONAL_RECORDS))
}

/// Records in [`large`]: 17 catalog pages, one more than the viewer
/// gathers the folder tree of at unlocking.
pub const LARGE_RECORDS: u64 = 16 * 4096 + 2000;

/// As [`national`] with [`LARGE_RECORDS`] records (in 68 folders).
pub fn large() -> &'static Path {
    static A: OnceLock<PathBuf> = OnceLock::new();
    A.get_or_init(|| register("large-2.0.lgn", LARGE_RECORDS))
}

/// A 2.0 register of `records` records `reg/fNN/pNNNNN.txt` (1,000 a
/// folder), titled `Person N`.
fn register(name: &str, records: u64) -> PathBuf {
    {
        let dir = archives().dir.clone();
        let path = dir.join(name);
        let opts = options(legation_tests::CREATED);
        let rng = rand_chacha::ChaCha20Rng::seed_from_u64(20);
        let file = std::io::BufWriter::new(std::fs::File::create(&path).unwrap());
        let mut w = legation_format::v2::writer::ArchiveWriter::new(file, opts, rng).unwrap();
        for i in 0..records {
            let meta = RecordMeta {
                path: format!("reg/f{:02}/p{i:05}.txt", i / 1000),
                title: format!("Person {i}"),
                media_type: "text/plain".into(),
                modified: Some(1_700_000_000 + i as i64 * 86_400),
                ..Default::default()
            };
            let text = format!("Person {i} of the register.\n");
            w.add_record(
                meta,
                legation_format::writer::RecordSource::Bytes(text.as_bytes()),
            )
            .unwrap();
        }
        w.finish().unwrap();
        path
    }
}

/// Steps frames until no job runs, then until the UI settles.
pub fn settle(h: &mut egui_kittest::Harness<'static, legation_viewer::App>) {
    let start = std::time::Instant::now();
    loop {
        h.step();
        if !h.state_mut().busy() {
            break;
        }
        assert!(
            start.elapsed() < std::time::Duration::from_secs(300),
            "a job never ended"
        );
        std::thread::sleep(std::time::Duration::from_millis(10));
    }
    let _ = h.try_run();
}

/// Whether some node's label contains `text`.
pub fn has<S>(h: &egui_kittest::Harness<'_, S>, text: &str) -> bool {
    use egui_kittest::kittest::Queryable as _;
    h.query_all_by_label_contains(text).next().is_some()
}

/// A sample file of the repository (`samples/...`).
#[allow(dead_code)] // used by screens.rs, not ui.rs
pub fn sample(path: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../samples")
        .join(path)
}

/// The view the decoder `module` (unmetered, a built-in's bytes) gives
/// of the sample file `path`, with its first page when it has pages.
#[allow(dead_code)] // used by screens.rs, not ui.rs
pub fn view_of(module: &[u8], path: &str) -> legation_viewer::document::DocumentView {
    let limits = legation_reader::decode::HostLimits::default().view;
    let host = Host::native();
    let metered = legation_meter::meter(module, &legation_meter::MeterConfig::default()).unwrap();
    let loaded = host.load(&metered, "built-in").unwrap();
    let bytes = std::fs::read(sample(path)).unwrap();
    let r = host.render(&loaded, path, &bytes).unwrap();
    let main = legation_document::Document::from_cbor(&r.main, &limits).unwrap();
    let first = (r.pages > 0).then(|| {
        let cbor = host.page(&loaded, path, &bytes, 0, r.pages).unwrap();
        legation_document::Document::from_cbor(&cbor, &limits).unwrap()
    });
    let mut view = legation_viewer::document::DocumentView::new(main, first);
    view.prepare_images(8192);
    view
}
