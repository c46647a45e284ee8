//! What differs between hosts: reading archives, file dialogs, where
//! recent files are kept, writing exports, and where jobs run. The desktop
//! implementation is [`Native`]; tests script their own.

use std::path::{Path, PathBuf};

use legation_reader::source::ReadAt;

use crate::jobs::{Job, Spawner};

/// The services the viewer needs from its host.
pub trait Platform {
    /// Where background jobs run.
    fn spawner(&self) -> &dyn Spawner;
    /// Makes the decoder host (its engine differs: wasmtime natively, the
    /// browser's engine or wasmi on the web). Called once, in a job.
    fn decoder_host(&self) -> fn() -> legation_reader::decode::Host;
    /// A random-access source for an archive file.
    fn open_source(&self, path: &Path) -> std::io::Result<Box<dyn ReadAt>>;
    /// Asks the user for an archive to open.
    fn pick_archive(&self) -> Option<PathBuf>;
    /// Asks the user for an identity (`NAME.key`) or issuer key (`NAME.pub`) file.
    /// A host whose dialogs answer later returns `None` and delivers the
    /// file through [`Platform::poll_picked`].
    fn pick_key_file(&self, kind: KeyFile) -> Option<PathBuf>;
    /// Asks the user where to save a file, suggesting a name.
    fn pick_save(&self, suggested: &str) -> Option<PathBuf>;
    /// Reads a small file (a key file).
    fn read_file(&self, path: &Path) -> std::io::Result<Vec<u8>>;
    /// The recent-files list, newest first.
    fn load_recent(&self) -> Vec<PathBuf>;
    /// Stores the recent-files list.
    fn save_recent(&self, recent: &[PathBuf]);
    /// A file the host's own dialogs or drops delivered since the last
    /// frame (the browser's file picker answers asynchronously; files
    /// dropped on the page). Polled once per frame.
    fn poll_picked(&self) -> Option<Picked> {
        None
    }
    /// Where work that must not share the window's thread goes: decoders
    /// and long verifications in the browser, whose page must never
    /// freeze. `None` (the desktop): jobs on [`Platform::spawner`] do it.
    fn offload(&self) -> Option<&dyn Offload> {
        None
    }
    /// Whether archives can be opened by URL here (the browser: any server
    /// that answers HTTP range requests). The start screen then offers a
    /// field for one; the URL is given to [`Platform::open_source`] as
    /// the path.
    fn opens_urls(&self) -> bool {
        false
    }
    /// Whether opening the archive at `path` (of `len` bytes) starts the
    /// keyless fixity check at once. It reads every byte: the desktop
    /// always does; the browser not for a remote archive (it would fetch
    /// all of it) nor a large one (it would hold the tab's memory and
    /// processor while the user only wants a record); there the user
    /// starts it with the button.
    fn checks_on_open(&self, _path: &Path, _len: u64) -> bool {
        true
    }
    /// Why the host's file dialogs cannot be shown here (on Linux they
    /// need an xdg-desktop-portal), and what to do; `None` when they can.
    /// The viewer then draws a file chooser of its own.
    fn dialogs_missing(&self) -> Option<String> {
        None
    }
    /// The issuer's statements of succession (SPEC §37: `*.handover`,
    /// `*.revocation`) for the archive or series folder at `path`, each
    /// as (name, bytes): here, the files of the folder `issuer/` beside
    /// it (in it, for a folder), named `issuer/NAME`; the browser gives those named by URL
    /// (`&issuer=URL`). Called on the window's thread: small files only
    /// (at most 4,096 of 64 KiB each).
    fn issuer_statements(&self, path: &Path) -> Result<Vec<(String, Vec<u8>)>, String> {
        if is_remote(path) {
            return Ok(Vec::new());
        }
        // Named as the folder beside the file opened holds them.
        let files = legation_reader::succession::files_beside(path).map_err(|e| e.to_string())?;
        Ok(files
            .into_iter()
            .map(|(name, bytes)| {
                let file = Path::new(&name).file_name().unwrap_or_default();
                (format!("issuer/{}", file.to_string_lossy()), bytes)
            })
            .collect())
    }
    /// How exports are written: on the desktop into a temporary file
    /// beside the target, renamed into place when complete; a download in
    /// the browser.
    fn export_writer(&self) -> ExportWriter {
        crate::export::write_new
    }
}

/// A rendered record as the viewer first shows it: the main document and
/// the render hash, and the first page's document if it has pages.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RenderedRecord {
    /// The main document, the page count and the render hash.
    pub rendered: legation_reader::decode::Rendered,
    /// Page 1's canonical CBOR, for a record with pages.
    pub first_page: Option<Vec<u8>>,
}

/// Writes an export to a target (replacing a file only when told to),
/// all or nothing, and returns the bytes written; see
/// [`Platform::export_writer`].
pub type ExportWriter = fn(
    &Path,
    bool,
    &mut dyn FnMut(&mut dyn std::io::Write) -> Result<(), String>,
) -> Result<u64, String>;

/// Which key file a dialog asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyFile {
    /// The reader's identity (`NAME.key`), to unlock.
    Identity,
    /// The issuer's public key (`NAME.pub`), to pin the signer.
    Issuer,
    /// A quorum holder's share (`NAME.share`, SPEC §7.10), to unlock.
    Share,
}

impl KeyFile {
    /// The dialog's title.
    pub fn title(self) -> &'static str {
        match self {
            KeyFile::Identity => "Choose your identity (.key) file",
            KeyFile::Issuer => "Choose the issuer's public key (.pub)",
            KeyFile::Share => "Choose a key holder's share (.share) file",
        }
    }
}

/// What a host delivered outside the frame.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Picked {
    /// An archive to open.
    Archive(PathBuf),
    /// The files of a series (SPEC §33) and the generation to show (the
    /// newest when `None`).
    Series(Vec<PathBuf>, Option<u64>),
    /// A key file for the form that asked.
    KeyFile(KeyFile, PathBuf),
}

/// Called when an offloaded job ends (the window repaints).
pub type Wake = Box<dyn Fn() + Send>;

/// Work done away from the window's thread, on an archive the platform
/// opened (`archive` is the path given to [`Platform::open_source`]).
/// Results are the same values the desktop computes in its jobs.
pub trait Offload {
    /// Verifies the archive at `level` (with `key` for the content and
    /// render levels), reporting progress; cancelling stops the work.
    fn verify(
        &self,
        archive: &Path,
        key: Option<&legation_format::crypto::DataKey>,
        level: legation_reader::Level,
        pinned: Option<[u8; 32]>,
        wake: Wake,
    ) -> Job<legation_reader::Report>;
    /// Runs the record's decoder: its main document and first page (every
    /// page decoded for the render hash, one at a time), or why not.
    fn render(
        &self,
        archive: &Path,
        key: &legation_format::crypto::DataKey,
        record: &legation_format::catalog::CatalogRecord,
        wake: Wake,
    ) -> Job<Result<RenderedRecord, String>>;
    /// Decodes page `page` (0-based) of a record whose main document
    /// announced `pages` pages: its canonical CBOR, or why not.
    fn render_page(
        &self,
        archive: &Path,
        key: &legation_format::crypto::DataKey,
        record: &legation_format::catalog::CatalogRecord,
        page: u32,
        pages: u32,
        wake: Wake,
    ) -> Job<Result<Vec<u8>, String>>;
    /// Derives the data key from the user's keys (Argon2id is slow), or
    /// says why not (the same words as [`crate::unlock_error`]).
    fn unlock(
        &self,
        archive: &Path,
        keys: Vec<legation_reader::Key>,
        wake: Wake,
    ) -> Job<Result<legation_format::crypto::DataKey, String>>;
    /// Reads, away from the window, what opening the archive at `path`
    /// reads (its length, end records, central directory and public
    /// entries), so that [`Platform::open_source`] and opening it then
    /// read from memory; or why it cannot be read. `None`: opening reads
    /// nothing slow here.
    fn prepare_open(&self, path: &Path, wake: Wake) -> Option<Job<Result<(), String>>>;
    /// Catalog page `n`'s rows for the record list (the page read and
    /// decrypted away from the window), or why not.
    fn read_page(
        &self,
        archive: &Path,
        key: &legation_format::crypto::DataKey,
        n: usize,
        wake: Wake,
    ) -> Job<Result<Vec<crate::catalog::Row>, String>>;
    /// Streams the rows that answer `question`, a few pages at a time, as
    /// [`crate::catalog::search`] does (cancelling stops it between two
    /// batches); the job ends with whether everything needed was read.
    fn search(
        &self,
        archive: &Path,
        key: &legation_format::crypto::DataKey,
        question: &crate::catalog::Question,
        wake: Wake,
    ) -> (
        Job<Result<bool, String>>,
        std::sync::mpsc::Receiver<crate::catalog::Found>,
    );
    /// Gathers the folder tree as [`crate::catalog::survey`] does (every
    /// catalog page read), streaming the folders; cancelling stops it.
    fn survey(
        &self,
        archive: &Path,
        key: &legation_format::crypto::DataKey,
        wake: Wake,
    ) -> (
        Job<Result<bool, String>>,
        std::sync::mpsc::Receiver<crate::catalog::Folders>,
    );
    /// The catalog record at `path` (what `Unlocked::find` answers), or
    /// why not.
    fn find(
        &self,
        archive: &Path,
        key: &legation_format::crypto::DataKey,
        path: &str,
        wake: Wake,
    ) -> Job<Result<legation_format::catalog::CatalogRecord, String>>;
    /// The first `max` bytes of a record (the raw view of a record its
    /// decoder cannot show), or why they cannot be read.
    fn read_raw(
        &self,
        archive: &Path,
        key: &legation_format::crypto::DataKey,
        record: &legation_format::catalog::CatalogRecord,
        max: u64,
        wake: Wake,
    ) -> Job<Result<Vec<u8>, String>>;
    /// The bytes an export of `record` writes (its original bytes, its
    /// one-record proof, or its view as HTML decoded a page at a time),
    /// made where the archive is read; the window then writes them with
    /// [`Platform::export_writer`].
    fn export(
        &self,
        archive: &Path,
        key: &legation_format::crypto::DataKey,
        record: &legation_format::catalog::CatalogRecord,
        what: &ExportOf,
        wake: Wake,
    ) -> Job<Result<Vec<u8>, String>>;
    /// The path of the record a 1.x archive stores in container entry
    /// `entry` (the catalog read page by page, as
    /// [`crate::catalog::record_in_entry`] does), or why there is none.
    fn entry_record(
        &self,
        archive: &Path,
        key: &legation_format::crypto::DataKey,
        entry: &str,
        wake: Wake,
    ) -> Job<Result<String, String>>;
}

/// What an export of a record holds (see [`crate::export::write_export`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ExportOf {
    /// The record's original bytes.
    Original,
    /// A one-record proof (format 2.0).
    Proof,
    /// The record's view as one HTML file with these facts, its pages
    /// decoded one at a time as it is written.
    Html(Vec<(String, String)>),
}

/// Most archives kept in the recent-files list.
pub const RECENT_MAX: usize = 10;

/// The recent-files list as stored: a JSON array of paths.
pub fn parse_recent(bytes: &[u8]) -> Vec<PathBuf> {
    serde_json::from_slice::<Vec<PathBuf>>(bytes)
        .unwrap_or_default()
        .into_iter()
        .take(RECENT_MAX)
        .collect()
}

/// Where the user's configuration goes on this system: `$XDG_CONFIG_HOME`
/// or `~/.config` on Linux and BSD, `~/Library/Application Support` on
/// macOS, `%APPDATA%` on Windows; `legation` inside it.
pub fn config_dir() -> Option<PathBuf> {
    let env = |k: &str| {
        std::env::var_os(k)
            .filter(|v| !v.is_empty())
            .map(PathBuf::from)
    };
    let base = if cfg!(windows) {
        env("APPDATA")
    } else if cfg!(target_os = "macos") {
        env("HOME").map(|h| h.join("Library/Application Support"))
    } else {
        env("XDG_CONFIG_HOME").or_else(|| env("HOME").map(|h| h.join(".config")))
    };
    base.map(|b| b.join("legation"))
}

/// The desktop: files, native dialogs, threads, and the recent-files list
/// in `recent.json` of [`config_dir`].
#[cfg(feature = "native")]
#[derive(Debug, Default)]
pub struct Native {
    spawner: crate::jobs::ThreadSpawner,
    remote: Option<RemoteOpener>,
}

/// Opens an archive given by URL (`s3://BUCKET/KEY`) for reading by byte
/// ranges. The viewer does not link an object-store client itself: the
/// `legation` command, which does, hands one in.
pub type RemoteOpener = fn(&Path) -> std::io::Result<Box<dyn ReadAt>>;

/// Whether `path` is a URL for a [`RemoteOpener`].
pub fn is_remote(path: &Path) -> bool {
    path.to_str().is_some_and(|s| s.starts_with("s3://"))
}

#[cfg(feature = "native")]
impl Native {
    /// The desktop, also opening `s3://` archives with `remote`.
    pub fn with_remote(remote: Option<RemoteOpener>) -> Self {
        Native {
            remote,
            ..Default::default()
        }
    }

    fn recent_file() -> Option<PathBuf> {
        config_dir().map(|d| d.join("viewer-recent.json"))
    }
}

#[cfg(feature = "native")]
impl Platform for Native {
    fn spawner(&self) -> &dyn Spawner {
        &self.spawner
    }
    fn decoder_host(&self) -> fn() -> legation_reader::decode::Host {
        worker_host
    }
    fn open_source(&self, path: &Path) -> std::io::Result<Box<dyn ReadAt>> {
        match self.remote {
            Some(open) if is_remote(path) => open(path),
            _ => Ok(Box::new(legation_reader::source::FileSource::open(path)?)),
        }
    }
    fn opens_urls(&self) -> bool {
        self.remote.is_some()
    }
    fn checks_on_open(&self, path: &Path, _len: u64) -> bool {
        // A remote archive is audited on request, not fetched whole at once.
        !is_remote(path)
    }
    fn dialogs_missing(&self) -> Option<String> {
        static MISSING: std::sync::OnceLock<Option<String>> = std::sync::OnceLock::new();
        MISSING.get_or_init(portal_missing).clone()
    }
    fn pick_archive(&self) -> Option<PathBuf> {
        rfd::FileDialog::new()
            .set_title("Open a Legation archive")
            .add_filter("Legation archive", &["lgn"])
            .add_filter("Any file", &["*"])
            .pick_file()
    }
    fn pick_key_file(&self, kind: KeyFile) -> Option<PathBuf> {
        rfd::FileDialog::new()
            .set_title(kind.title())
            .add_filter("Key file", &["key", "pub", "share"])
            .add_filter("Any file", &["*"])
            .pick_file()
    }
    fn pick_save(&self, suggested: &str) -> Option<PathBuf> {
        rfd::FileDialog::new()
            .set_title("Export")
            .set_file_name(suggested)
            .save_file()
    }
    fn read_file(&self, path: &Path) -> std::io::Result<Vec<u8>> {
        std::fs::read(path)
    }
    fn load_recent(&self) -> Vec<PathBuf> {
        Self::recent_file()
            .and_then(|f| std::fs::read(f).ok())
            .map(|b| parse_recent(&b))
            .unwrap_or_default()
    }
    fn save_recent(&self, recent: &[PathBuf]) {
        // A list that cannot be saved is not worth bothering the user with.
        if let Some(f) = Self::recent_file() {
            if let Some(d) = f.parent() {
                let _ = std::fs::create_dir_all(d);
            }
            if let Ok(json) = serde_json::to_vec_pretty(recent) {
                let _ = std::fs::write(f, json);
            }
        }
    }
}

/// Why rfd's dialogs cannot open on this desktop: on Linux and the BSDs
/// they go through the xdg-desktop-portal service on the D-Bus session
/// bus, and without it they return nothing and say nothing.
#[cfg(feature = "native")]
fn portal_missing() -> Option<String> {
    if cfg!(any(windows, target_os = "macos")) {
        return None;
    }
    let var = |k: &str| std::env::var_os(k).filter(|v| !v.is_empty());
    let runtime_bus = var("XDG_RUNTIME_DIR").map(|d| PathBuf::from(d).join("bus"));
    if var("DBUS_SESSION_BUS_ADDRESS").is_none() && !runtime_bus.is_some_and(|b| b.exists()) {
        return Some(
            "The system's file dialog cannot open: there is no D-Bus session (which its \
             xdg-desktop-portal needs). Choose the file here, or start the viewer inside a \
             desktop session."
                .into(),
        );
    }
    let mut dirs: Vec<PathBuf> = var("XDG_DATA_HOME")
        .map(PathBuf::from)
        .or_else(|| var("HOME").map(|h| PathBuf::from(h).join(".local/share")))
        .into_iter()
        .collect();
    let shared = var("XDG_DATA_DIRS").unwrap_or_else(|| "/usr/local/share:/usr/share".into());
    dirs.extend(std::env::split_paths(&shared));
    let service = "dbus-1/services/org.freedesktop.portal.Desktop.service";
    if dirs.iter().any(|d| d.join(service).exists()) {
        return None;
    }
    Some(
        "The system's file dialog cannot open: xdg-desktop-portal is not installed \
         (no org.freedesktop.portal.Desktop service). Choose the file here, or install \
         xdg-desktop-portal and a backend (xdg-desktop-portal-gtk, -kde or -gnome) and log in again."
            .into(),
    )
}

/// The argument that makes the desktop programs (`legation` and
/// `legation-viewer`) a decoder worker: they must answer it by calling
/// [`legation_reader::isolated::serve`].
pub const DECODE_WORKER_ARG: &str = "decode-worker";

/// The desktop's decoder host: decoders run in worker processes of this
/// program, so no decoder or engine bug shares an address space with the
/// keys the viewer holds (SPEC.md §17.9). Falls back to decoding in this
/// process, with a warning, only if the program cannot find itself.
#[cfg(feature = "native")]
fn worker_host() -> legation_reader::decode::Host {
    legation_reader::decode::Host::isolated(&[DECODE_WORKER_ARG]).unwrap_or_else(|e| {
        eprintln!("legation-viewer: cannot start decoder workers ({e}); decoding in this process");
        legation_reader::decode::Host::native()
    })
}
