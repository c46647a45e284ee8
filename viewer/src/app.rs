//! The application: open an archive, see its public facts and a keyless
//! fixity check, unlock it, browse and search its records, read one,
//! see its details, verify the archive, export.

use std::path::{Path, PathBuf};
use std::sync::{Arc, OnceLock};

use egui::{Align, Color32, Key, Modifiers, RichText, Ui};
use egui_extras::{Column, TableBuilder};
use legation_format::catalog::{CatalogRecord, Render};
use legation_format::crypto::KeySlot;
use legation_format::keys::{self, Identity};
use legation_reader::decode::{Host, RenderError};
use legation_reader::{Archive, ErrorKind, Key as ArchiveKey, Level, Report, Signer, Unlocked};
use zeroize::Zeroizing;

use crate::catalog::{human_size, Catalog, SortKey};
use crate::document::DocumentView;
use crate::jobs::{Job, Progress};
use crate::platform::{KeyFile, Picked, Platform, RECENT_MAX};

/// Lists up to this long are searched and sorted within the frame;
/// longer ones beside it (a million rows take a quarter of a second).
pub const SELECT_IN_FRAME: usize = 100_000;

/// Bytes of a record shown raw when its decoder fails.
pub const RAW_PREVIEW: u64 = 64 << 10;

/// The viewer: one value that draws itself into an [`egui::Ui`] each
/// frame. The desktop shell and tests drive it the same way.
pub struct App {
    platform: Box<dyn Platform>,
    host: Arc<OnceLock<Host>>,
    recent: Vec<PathBuf>,
    screen: Screen,
    notice: Option<String>,
    ctx: Option<egui::Context>,
    /// Keys to try as soon as the next archive opens.
    keys: Option<Vec<ArchiveKey>>,
    /// The start screen's URL field (hosts that open URLs).
    url: String,
}

enum Screen {
    Start,
    Opening {
        path: PathBuf,
        job: Box<Job<Result<Opened, String>>>,
    },
    Archive(Box<ArchiveScreen>),
}

struct Opened {
    archive: Archive,
    facts: Facts,
}

/// What anyone may see of an archive without a key.
struct Facts {
    version: String,
    archive_id: String,
    created: String,
    issuer: Result<Option<String>, String>,
    size: u64,
    entries: usize,
    record_entries: u64,
    record_bytes: u64,
    key_slots: Vec<String>,
    decoders: Vec<String>,
}

struct ArchiveScreen {
    path: PathBuf,
    name: String,
    archive: Archive,
    facts: Facts,
    verify: VerifyPanel,
    state: LockState,
}

enum LockState {
    Locked(Box<UnlockForm>),
    Open(Box<Browser>),
}

#[derive(Default)]
struct UnlockForm {
    passphrase: Zeroizing<String>,
    /// Whether the passphrase field was given the keyboard focus once.
    focused: bool,
    identity: Option<PathBuf>,
    message: Option<String>,
    job: Option<Job<Result<Unlocked, String>>>,
    /// The key derivation, when the platform runs it away from the window.
    away: Option<Job<Result<legation_format::crypto::DataKey, String>>>,
}

/// Verification of the whole archive, with an optional pinned issuer.
#[derive(Default)]
struct VerifyPanel {
    pinned: Option<([u8; 32], String)>,
    level: Option<Level>,
    job: Option<Job<Report>>,
    report: Option<Report>,
    message: Option<String>,
}

struct Browser {
    unlocked: Arc<Unlocked>,
    /// The job reading the catalog, and the rows it sends as it goes.
    loading: Option<Job<Result<bool, String>>>,
    batches: std::sync::mpsc::Receiver<crate::catalog::Batch>,
    /// A search or sort of a large list, running beside the window.
    selecting: Option<Job<Vec<u32>>>,
    /// The search for the record stored in a container entry.
    finding: Option<Job<Result<String, String>>>,
    catalog: Arc<Catalog>,
    load_error: Option<String>,
    query: String,
    folder: String,
    sort: SortKey,
    descending: bool,
    visible: Vec<u32>,
    stale: bool,
    cursor: Option<usize>,
    scroll_to_cursor: bool,
    open: Option<OpenRecord>,
    tab: Tab,
    export: Export,
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Tab {
    Record,
    Details,
    Verify,
}

struct OpenRecord {
    rec: CatalogRecord,
    state: RecordState,
}

enum RecordState {
    Rendering(Job<Result<Box<Rendered>, Failed>>),
    /// The decoder runs where the platform offloads work; its documents
    /// are checked and laid out here (`usize`: the largest texture side).
    Away(Job<Result<crate::platform::RenderedRecord, String>>, usize),
    Shown(Box<Rendered>),
    Failed(Failed),
}

struct Rendered {
    view: DocumentView,
    /// Whether the view hashes to the one recorded at packing.
    matches_recorded: Option<bool>,
    /// The largest texture side, for the images of pages decoded later.
    max_side: usize,
    /// The page being decoded (1-based) and its canonical CBOR to come.
    page_job: Option<(usize, PageJob)>,
}

/// A page's canonical CBOR, or why it cannot be decoded.
type PageJob = Job<Result<Vec<u8>, String>>;

struct Failed {
    error: String,
    raw: Result<Vec<u8>, String>,
    as_hex: bool,
}

#[derive(Default)]
struct Export {
    confirm: Option<(PathBuf, ExportWhat)>,
    job: Option<Job<Result<String, String>>>,
    message: Option<String>,
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum ExportWhat {
    Original,
    Html,
}

/// What the user asked for during a frame, carried out after drawing.
enum Action {
    PickArchive,
    OpenPath(PathBuf),
    Close,
}

impl App {
    /// A viewer on `platform`, opening `path` at once when given.
    pub fn new(platform: Box<dyn Platform>, path: Option<PathBuf>) -> Self {
        let recent = platform.load_recent();
        let mut app = App {
            platform,
            host: Arc::new(OnceLock::new()),
            recent,
            screen: Screen::Start,
            notice: None,
            ctx: None,
            keys: None,
            url: String::new(),
        };
        if let Some(p) = path {
            app.open(p);
        }
        app
    }

    /// Tries `keys` on the next archive opened, as if typed into the
    /// unlock form (`legation open --identity`, benchmarks). A wrong key
    /// shows the form with the error.
    pub fn with_keys(mut self, keys: Vec<ArchiveKey>) -> Self {
        self.keys = (!keys.is_empty()).then_some(keys);
        self
    }

    /// How many records the list holds so far, once unlocked.
    pub fn records_listed(&self) -> Option<usize> {
        match &self.screen {
            Screen::Archive(a) => match &a.state {
                LockState::Open(b) => Some(b.catalog.rows.len()),
                LockState::Locked(_) => None,
            },
            _ => None,
        }
    }

    /// Whether the records are listed (unlocked and the catalog read).
    pub fn is_browsing(&self) -> bool {
        matches!(&self.screen, Screen::Archive(a) if matches!(&a.state, LockState::Open(b) if b.loading.is_none()))
    }

    /// Whether a background job is running (tests wait for none).
    pub fn busy(&mut self) -> bool {
        match &mut self.screen {
            Screen::Start => false,
            Screen::Opening { .. } => true,
            Screen::Archive(a) => {
                let v = a.verify.job.is_some();
                match &mut a.state {
                    LockState::Locked(f) => v || f.job.is_some() || f.away.is_some(),
                    LockState::Open(b) => {
                        v || b.loading.is_some()
                            || b.selecting.is_some()
                            || b.finding.is_some()
                            || b.export.job.is_some()
                            || match b.open.as_ref().map(|o| &o.state) {
                                Some(RecordState::Rendering(_) | RecordState::Away(..)) => true,
                                Some(RecordState::Shown(r)) => r.page_job.is_some(),
                                _ => false,
                            }
                    }
                }
            }
        }
    }

    /// Asks for a frame soon (the window may be idle).
    pub fn request_repaint(&self) {
        if let Some(c) = &self.ctx {
            c.request_repaint();
        }
    }

    /// The recent-files list, newest first.
    pub fn recent(&self) -> &[PathBuf] {
        &self.recent
    }

    /// Starts opening an archive.
    pub fn open(&mut self, path: PathBuf) {
        self.notice = None;
        let source = match self.platform.open_source(&path) {
            Ok(s) => s,
            Err(e) => {
                self.notice = Some(format!("Cannot read {}: {e}", path.display()));
                self.screen = Screen::Start;
                return;
            }
        };
        let source: Arc<dyn legation_reader::source::ReadAt> = Arc::from(source);
        let job = self.spawn(move |_| {
            let archive = Archive::open(source).map_err(|e| e.to_string())?;
            let facts = Facts::of(&archive);
            Ok(Opened { archive, facts })
        });
        self.screen = Screen::Opening {
            path,
            job: Box::new(job),
        };
    }

    fn spawn<T: Send + 'static>(
        &self,
        work: impl FnOnce(&Progress) -> T + Send + 'static,
    ) -> Job<T> {
        Job::spawn(self.platform.spawner(), self.waker(), work)
    }

    fn waker(&self) -> Box<dyn Fn() + Send> {
        waker(self.ctx.clone())
    }

    fn remember(&mut self, path: &Path) {
        self.recent.retain(|p| p != path);
        self.recent.insert(0, path.to_owned());
        self.recent.truncate(RECENT_MAX);
        self.platform.save_recent(&self.recent);
    }

    /// Draws one frame.
    pub fn ui(&mut self, ui: &mut Ui) {
        if self.ctx.is_none() {
            self.ctx = Some(ui.ctx().clone());
            set_fonts(ui.ctx());
        }
        self.poll();
        let mut actions = Vec::new();
        // Files dropped on the window open like any other.
        let dropped: Vec<PathBuf> = ui.input(|i| {
            i.raw
                .dropped_files
                .iter()
                .map(|f| f.path().to_owned())
                .filter(|p| !p.as_os_str().is_empty())
                .collect()
        });
        if let Some(p) = dropped.into_iter().next() {
            actions.push(Action::OpenPath(p));
        }
        while let Some(picked) = self.platform.poll_picked() {
            match picked {
                Picked::Archive(p) => actions.push(Action::OpenPath(p)),
                Picked::KeyFile(kind, p) => self.key_file_picked(kind, p),
            }
        }
        self.top_bar(ui, &mut actions);
        if let Some(n) = self.notice.clone() {
            egui::Panel::bottom("notice").show(ui, |ui| {
                ui.horizontal(|ui| {
                    ui.colored_label(ui.visuals().error_fg_color, &n);
                    if ui.button("Dismiss").clicked() {
                        self.notice = None;
                    }
                });
            });
        }
        let App {
            platform,
            host,
            screen,
            recent,
            ctx,
            url,
            ..
        } = self;
        let env = Env {
            platform: platform.as_ref(),
            host,
            ctx: ctx.as_ref(),
            archive: Path::new(""),
        };
        match screen {
            Screen::Start => {
                let urls = platform.opens_urls().then_some(url);
                start_ui(ui, recent, urls, &mut actions)
            }
            Screen::Opening { path, .. } => {
                egui::CentralPanel::default().show(ui, |ui| {
                    ui.horizontal(|ui| {
                        ui.spinner();
                        ui.label(format!("Opening {}…", file_name(path)));
                    });
                });
            }
            Screen::Archive(a) => a.ui(ui, &env, &mut actions),
        }
        if self.busy() {
            ui.ctx()
                .request_repaint_after(std::time::Duration::from_millis(100));
        }
        for a in actions {
            match a {
                Action::PickArchive => {
                    if let Some(p) = self.platform.pick_archive() {
                        self.open(p);
                    }
                }
                Action::OpenPath(p) => self.open(p),
                Action::Close => {
                    self.screen = Screen::Start;
                    self.notice = None;
                }
            }
        }
    }

    /// A key file chosen in a dialog that answered after its frame.
    fn key_file_picked(&mut self, kind: KeyFile, p: PathBuf) {
        let Screen::Archive(a) = &mut self.screen else {
            return;
        };
        match (kind, &mut a.state) {
            (KeyFile::Identity, LockState::Locked(form)) => form.identity = Some(p),
            (KeyFile::Issuer, _) => a.verify.pin(self.platform.as_ref(), &p),
            _ => {}
        }
    }

    /// What the window shows, in a few words a test can check (the
    /// browser tests read it through the page): the screen, messages,
    /// the records listed, the open record and the last verification.
    pub fn summary(&mut self) -> serde_json::Value {
        use serde_json::json;
        let mut out = json!({ "notice": self.notice, "busy": self.busy() });
        let screen = match &mut self.screen {
            Screen::Start => json!({ "screen": "start" }),
            Screen::Opening { path, .. } => json!({ "screen": "opening", "path": path }),
            Screen::Archive(a) => {
                let verify = json!({
                    "running": a.verify.job.as_ref().map(|j| j.fraction()),
                    "level": a.verify.level.map(level_name),
                    "message": a.verify.message,
                    "report": a.verify.report.as_ref().map(|r| json!({
                        "ok": r.ok(),
                        "level": level_name(r.level),
                        "signer": r.signer,
                        "problems": r.problems.iter().map(|p| format!("{}: {}", p.subject, p.message)).collect::<Vec<_>>(),
                        "entries_checked": r.entries_checked,
                        "records_checked": r.records_checked,
                        "records_rendered": r.records_rendered,
                        "cancelled": r.cancelled,
                    })),
                });
                match &a.state {
                    LockState::Locked(f) => json!({
                        "screen": "locked",
                        "name": a.name,
                        "unlock_message": f.message,
                        "verify": verify,
                    }),
                    LockState::Open(b) => {
                        let open = b.open.as_ref().map(|o| {
                            let (state, titles, blocks, error, matches) = match &o.state {
                                RecordState::Rendering(_) | RecordState::Away(..) => {
                                    ("rendering", vec![], vec![], None, None)
                                }
                                RecordState::Shown(r) => (
                                    "shown",
                                    r.view.docs.iter().map(|d| d.title.clone()).collect(),
                                    r.view
                                        .docs
                                        .iter()
                                        .flat_map(|d| d.blocks.iter().map(block_kind))
                                        .collect(),
                                    None,
                                    r.matches_recorded,
                                ),
                                RecordState::Failed(f) => {
                                    ("failed", vec![], vec![], Some(f.error.clone()), None)
                                }
                            };
                            let page = match &o.state {
                                RecordState::Shown(r) => json!({
                                    "shown": r.view.page,
                                    "of": r.view.pages(),
                                    "decoded": r.view.docs.len() > 1,
                                }),
                                _ => json!(null),
                            };
                            json!({
                                "path": o.rec.path,
                                "page": page,
                                "state": state,
                                "titles": titles,
                                "blocks": blocks,
                                "error": error,
                                "matches_recorded": matches,
                            })
                        });
                        json!({
                            "screen": "open",
                            "name": a.name,
                            "records": b.catalog.rows.len(),
                            "visible": b.visible.len(),
                            "rows": b.visible.iter().take(20).filter_map(|&i| b.catalog.rows.get(i as usize)).map(|r| r.title.clone()).collect::<Vec<_>>(),
                            "loading": b.loading.is_some(),
                            "error": b.load_error,
                            "record": open,
                            "export": b.export.message,
                            "verify": verify,
                        })
                    }
                }
            }
        };
        if let (Some(o), serde_json::Value::Object(s)) = (out.as_object_mut(), screen) {
            o.extend(s);
        }
        out
    }

    fn top_bar(&mut self, ui: &mut Ui, actions: &mut Vec<Action>) {
        egui::Panel::top("top bar").show(ui, |ui| {
            ui.horizontal(|ui| {
                ui.strong("Legation");
                if ui.button("Open archive…").clicked() {
                    actions.push(Action::PickArchive);
                }
                if !self.recent.is_empty() {
                    ui.menu_button("Recent", |ui| {
                        for p in &self.recent {
                            if ui
                                .button(file_name(p))
                                .on_hover_text(p.display().to_string())
                                .clicked()
                            {
                                actions.push(Action::OpenPath(p.clone()));
                            }
                        }
                    });
                }
                if matches!(self.screen, Screen::Archive(_)) && ui.button("Close archive").clicked()
                {
                    actions.push(Action::Close);
                }
                ui.with_layout(egui::Layout::right_to_left(Align::Center), |ui| {
                    let dark = ui.visuals().dark_mode;
                    let (label, theme) = if dark {
                        ("Light theme", egui::Theme::Light)
                    } else {
                        ("Dark theme", egui::Theme::Dark)
                    };
                    if ui.button(label).clicked() {
                        ui.ctx().set_theme(theme);
                    }
                    if let Screen::Archive(a) = &self.screen {
                        ui.label(RichText::new(&a.name).strong())
                            .on_hover_text(a.path.display().to_string());
                    }
                });
            });
        });
    }

    /// Takes the results of finished jobs.
    fn poll(&mut self) {
        let opened = match &mut self.screen {
            Screen::Opening { path, job } => {
                if job.is_done() {
                    Some((path.clone(), job.take()))
                } else {
                    None
                }
            }
            _ => None,
        };
        match opened {
            Some((path, Some(Ok(o)))) => {
                self.remember(&path);
                let mut verify = VerifyPanel::default();
                let archive = o.archive.clone();
                if self.platform.checks_on_open(&path, o.archive.len()) {
                    verify.level = Some(Level::Fixity);
                    verify.job = Some(match self.platform.offload() {
                        Some(away) => away.verify(&path, None, Level::Fixity, None, self.waker()),
                        None => self
                            .spawn(move |p| archive.verify_fixity(None, &mut |d, t| p.set(d, t))),
                    });
                }
                let mut form = Box::<UnlockForm>::default();
                if let Some(keys) = self.keys.take() {
                    let archive = o.archive.clone();
                    form.job = Some(self.spawn(move |_| unlock(&archive, &keys)));
                }
                self.screen = Screen::Archive(Box::new(ArchiveScreen {
                    name: file_name(&path),
                    path,
                    archive: o.archive,
                    facts: o.facts,
                    verify,
                    state: LockState::Locked(form),
                }));
            }
            Some((path, r)) => {
                let why = match r {
                    Some(Err(e)) => e,
                    _ => "the reading job stopped unexpectedly".into(),
                };
                self.notice = Some(format!("Cannot open {}: {why}", path.display()));
                self.screen = Screen::Start;
            }
            None => {}
        }
    }
}

/// A wake-up for the window when a job ends.
fn waker(ctx: Option<egui::Context>) -> Box<dyn Fn() + Send> {
    Box::new(move || {
        if let Some(c) = &ctx {
            c.request_repaint();
        }
    })
}

/// What screens need from the app while drawing.
#[derive(Clone, Copy)]
struct Env<'a> {
    platform: &'a dyn Platform,
    host: &'a Arc<OnceLock<Host>>,
    ctx: Option<&'a egui::Context>,
    /// The open archive's path, as given to the platform.
    archive: &'a Path,
}

impl Env<'_> {
    fn spawn<T: Send + 'static>(
        &self,
        work: impl FnOnce(&Progress) -> T + Send + 'static,
    ) -> Job<T> {
        Job::spawn(self.platform.spawner(), self.waker(), work)
    }

    fn waker(&self) -> Box<dyn Fn() + Send> {
        waker(self.ctx.cloned())
    }
}

/// egui's text font has no arrows or geometric shapes: its monospace font
/// (Hack) has them, and fills in after it.
pub fn set_fonts(ctx: &egui::Context) {
    let mut fonts = egui::FontDefinitions::default();
    if !fonts.font_data.contains_key("Hack") {
        return;
    }
    if let Some(f) = fonts.families.get_mut(&egui::FontFamily::Proportional) {
        f.insert(1.min(f.len()), "Hack".to_owned());
    }
    ctx.set_fonts(fonts);
}

/// The name to show for an archive: a file's name, or the last segment
/// of a URL's path (without its query, which for a presigned URL is
/// longer than the window and holds the signature).
fn file_name(p: &Path) -> String {
    let s = p.to_string_lossy();
    if s.contains("://") {
        let path = s.split(['?', '#']).next().unwrap_or_default();
        if let Some(last) = path
            .trim_end_matches('/')
            .rsplit('/')
            .next()
            .filter(|l| !l.is_empty())
        {
            return last.to_owned();
        }
    }
    p.file_name().map_or_else(
        || p.display().to_string(),
        |n| n.to_string_lossy().into_owned(),
    )
}

fn start_ui(ui: &mut Ui, recent: &[PathBuf], url: Option<&mut String>, actions: &mut Vec<Action>) {
    egui::CentralPanel::default().show(ui, |ui| {
        ui.add_space(24.0);
        ui.vertical_centered(|ui| {
            ui.heading("Open a Legation archive");
            ui.label("Choose a file, drop one on this window, or pick a recent one.");
            ui.add_space(8.0);
            if ui.button("Choose an archive…").clicked() {
                actions.push(Action::PickArchive);
            }
            if let Some(url) = url {
                ui.add_space(12.0);
                ui.label("Or open one from a server that answers range requests:");
                ui.horizontal(|ui| {
                    // Centred by hand: a horizontal row does not centre itself.
                    ui.add_space((ui.available_width() - 520.0).max(0.0) / 2.0);
                    let field = ui.add(
                        egui::TextEdit::singleline(url)
                            .id(ui.make_persistent_id("archive url"))
                            .desired_width(420.0)
                            .hint_text("https://…/archive.lgn"),
                    );
                    let enter = field.lost_focus() && ui.input(|i| i.key_pressed(Key::Enter));
                    let go = ui
                        .add_enabled(!url.trim().is_empty(), egui::Button::new("Open URL"))
                        .clicked();
                    if (go || enter) && !url.trim().is_empty() {
                        actions.push(Action::OpenPath(PathBuf::from(url.trim())));
                    }
                });
            }
            if !recent.is_empty() {
                ui.add_space(16.0);
                ui.label(RichText::new("Recent archives").strong());
                for p in recent {
                    if ui
                        .link(p.display().to_string())
                        .on_hover_text("Open this archive")
                        .clicked()
                    {
                        actions.push(Action::OpenPath(p.clone()));
                    }
                }
            }
        });
        let hovering = ui.input(|i| !i.raw.hovered_files.is_empty());
        if hovering {
            ui.vertical_centered(|ui| ui.heading("Drop to open"));
        }
    });
}

impl Facts {
    fn of(a: &Archive) -> Facts {
        let m = a.manifest();
        let (record_entries, record_bytes) = m
            .entries
            .iter()
            .filter(|e| e.name.starts_with(legation_format::RECORD_PREFIX))
            .fold((0, 0), |(c, b), e| (c + 1, b + e.size));
        let issuer = match a.check_signature(None) {
            Ok(Signer::Valid { fingerprint, .. }) => Ok(Some(fingerprint)),
            Ok(Signer::Unsigned) => Ok(None),
            Err(e) => Err(e.to_string()),
        };
        Facts {
            version: m.version.clone(),
            archive_id: legation_format::hex::encode(&m.archive_id),
            created: m.created.clone(),
            issuer,
            size: a.len(),
            entries: a.entries().len(),
            record_entries,
            record_bytes,
            key_slots: m
                .key_slots
                .iter()
                .map(|s| match s {
                    KeySlot::X25519 { .. } => "identity (X25519)".to_owned(),
                    KeySlot::Passphrase { .. } => "passphrase (Argon2id)".to_owned(),
                    _ => "unknown kind".to_owned(),
                })
                .collect(),
            decoders: m
                .decoders
                .iter()
                .map(|d| format!("{} {}", d.name, d.version))
                .collect(),
        }
    }

    fn ui(&self, ui: &mut Ui) {
        egui::Grid::new("public facts")
            .num_columns(2)
            .spacing([16.0, 4.0])
            .striped(true)
            .show(ui, |ui| {
                let mut row = |k: &str, v: String| {
                    ui.label(RichText::new(k).strong());
                    ui.label(v);
                    ui.end_row();
                };
                match &self.issuer {
                    Ok(Some(fp)) => row("Issuer", format!("{fp} (signature valid, not pinned)")),
                    Ok(None) => row("Issuer", "none: the archive is not signed".into()),
                    Err(e) => row("Issuer", format!("SIGNATURE FAILS: {e}")),
                }
                row("Created", self.created.clone());
                row("Format", format!("Legation {}", self.version));
                row("Archive id", self.archive_id.clone());
                row(
                    "Size",
                    format!("{} ({} bytes)", human_size(self.size), self.size),
                );
                row(
                    "Records",
                    format!(
                        "{} encrypted entries, {}",
                        self.record_entries,
                        human_size(self.record_bytes)
                    ),
                );
                row("Container entries", self.entries.to_string());
                row("Key slots", self.key_slots.join(", "));
                if !self.decoders.is_empty() {
                    row("Decoders", self.decoders.join(", "));
                }
            });
    }
}

impl ArchiveScreen {
    fn ui(&mut self, ui: &mut Ui, env: &Env<'_>, actions: &mut Vec<Action>) {
        self.verify.poll();
        let _ = actions;
        let ArchiveScreen {
            archive,
            facts,
            verify,
            state,
            name,
            path,
        } = self;
        let env = &Env {
            archive: path,
            ..*env
        };
        let mut unlocked = None;
        match state {
            LockState::Locked(form) => {
                if let Some(u) = form.poll(archive) {
                    unlocked = Some(u);
                }
                egui::CentralPanel::default().show(ui, |ui| {
                    egui::ScrollArea::vertical().show(ui, |ui| {
                        ui.heading(format!("{name}: public facts"));
                        ui.label(
                            "Anyone holding the file can see these; the records stay encrypted.",
                        );
                        ui.add_space(6.0);
                        facts.ui(ui);
                        ui.add_space(12.0);
                        ui.heading("Fixity check (no key needed)");
                        verify.ui(ui, env, archive, None, None);
                        ui.add_space(12.0);
                        ui.heading("Unlock");
                        form.ui(ui, env, archive);
                    });
                });
            }
            LockState::Open(b) => b.ui(ui, env, archive, verify, name),
        }
        if let Some(u) = unlocked {
            let unlocked = Arc::new(u);
            let u2 = unlocked.clone();
            let (tx, batches) = std::sync::mpsc::channel();
            let loading =
                env.spawn(move |p| Catalog::load_batches(&u2, p, &mut |b| tx.send(b).is_ok()));
            *state = LockState::Open(Box::new(Browser {
                unlocked,
                loading: Some(loading),
                batches,
                selecting: None,
                finding: None,
                catalog: Arc::new(Catalog::default()),
                load_error: None,
                query: String::new(),
                folder: String::new(),
                sort: SortKey::Path,
                descending: false,
                visible: Vec::new(),
                stale: true,
                cursor: None,
                scroll_to_cursor: false,
                open: None,
                tab: Tab::Record,
                export: Export::default(),
            }));
            if let Some(c) = env.ctx {
                c.request_repaint();
            }
        }
    }
}

impl UnlockForm {
    fn poll(&mut self, archive: &Archive) -> Option<Unlocked> {
        if let Some(r) = self
            .away
            .as_mut()
            .and_then(|j| j.is_done().then(|| j.take()))
        {
            self.away = None;
            let r = match r {
                Some(Ok(k)) => archive
                    .unlock_with_data_key(k)
                    .map_err(|e| unlock_error(&e)),
                Some(Err(e)) => Err(e),
                None => Err("Unlocking stopped unexpectedly; try again.".into()),
            };
            match r {
                Ok(u) => {
                    self.passphrase = Zeroizing::new(String::new());
                    return Some(u);
                }
                Err(e) => self.message = Some(e),
            }
        }
        let job = self.job.as_mut()?;
        if !job.is_done() {
            return None;
        }
        let r = job.take();
        self.job = None;
        match r {
            Some(Ok(u)) => {
                self.passphrase = Zeroizing::new(String::new());
                Some(u)
            }
            Some(Err(e)) => {
                self.message = Some(e);
                None
            }
            None => {
                self.message = Some("Unlocking stopped unexpectedly; try again.".into());
                None
            }
        }
    }

    fn ui(&mut self, ui: &mut Ui, env: &Env<'_>, archive: &Archive) {
        let busy = self.job.is_some() || self.away.is_some();
        let mut submit = false;
        reserve_passphrase(&mut self.passphrase);
        ui.horizontal(|ui| {
            let l = ui.label("Passphrase");
            let r = ui.add_enabled(
                !busy,
                egui::TextEdit::singleline(&mut *self.passphrase)
                    // A fixed id: the widgets above it come and go (the
                    // fixity check's progress), and focus follows the id.
                    .id(ui.make_persistent_id("passphrase"))
                    .password(true)
                    .desired_width(320.0)
                    .hint_text("the archive's passphrase"),
            );
            let r = r.labelled_by(l.id);
            // Ready to type as soon as the form shows.
            if !self.focused {
                r.request_focus();
                self.focused = true;
            }
            if r.lost_focus() && ui.input(|i| i.key_pressed(Key::Enter)) {
                submit = true;
            }
        });
        ui.horizontal(|ui| {
            ui.label("Identity file");
            match &self.identity {
                Some(p) => {
                    ui.label(RichText::new(file_name(p)).monospace())
                        .on_hover_text(p.display().to_string());
                    if ui.add_enabled(!busy, egui::Button::new("Remove")).clicked() {
                        self.identity = None;
                    }
                }
                None => {
                    ui.label(RichText::new("none").weak());
                }
            }
            if ui
                .add_enabled(!busy, egui::Button::new("Choose identity file…"))
                .clicked()
            {
                if let Some(p) = env.platform.pick_key_file(KeyFile::Identity) {
                    self.identity = Some(p);
                }
            }
        });
        ui.horizontal(|ui| {
            if ui.add_enabled(!busy, egui::Button::new("Unlock")).clicked() {
                submit = true;
            }
            if busy {
                ui.spinner();
                ui.label("Unlocking… (deriving the key from a passphrase takes a few seconds)");
            }
        });
        if let Some(m) = &self.message {
            ui.colored_label(ui.visuals().error_fg_color, m);
        }
        if submit && !busy {
            self.start(env, archive);
        }
    }

    fn start(&mut self, env: &Env<'_>, archive: &Archive) {
        self.message = None;
        let mut keys = Vec::new();
        if let Some(p) = &self.identity {
            match read_identity(env.platform, p) {
                Ok(id) => keys.push(ArchiveKey::Identity(id)),
                Err(e) => {
                    self.message = Some(e);
                    return;
                }
            }
        }
        if !self.passphrase.is_empty() {
            keys.push(ArchiveKey::Passphrase(self.passphrase.clone()));
        }
        if keys.is_empty() {
            self.message = Some("Type the passphrase or choose an identity file first.".into());
            return;
        }
        if let Some(away) = env.platform.offload() {
            self.away = Some(away.unlock(env.archive, keys, env.waker()));
            return;
        }
        let archive = archive.clone();
        self.job = Some(env.spawn(move |_| unlock(&archive, &keys)));
    }
}

/// Unlocks, saying plainly when the key is wrong.
fn unlock(archive: &Archive, keys: &[ArchiveKey]) -> Result<Unlocked, String> {
    archive.unlock(keys).map_err(|e| unlock_error(&e))
}

/// What the unlock form says when unlocking fails.
pub fn unlock_error(e: &legation_reader::Error) -> String {
    match e.kind() {
        // The reader's message says the same at more length.
        ErrorKind::WrongKey => {
            "Wrong passphrase or identity: it opens none of this archive's key slots. Check it and try again."
                .to_owned()
        }
        _ => format!("Cannot unlock: {e}"),
    }
}

/// Bytes the passphrase field holds without reallocating.
const PASSPHRASE_CAPACITY: usize = 1024;

/// Gives an empty passphrase field its full capacity before anything is
/// typed, so typing never reallocates the string (a reallocation frees the
/// old buffer, with the passphrase typed so far, without wiping it).
fn reserve_passphrase(p: &mut Zeroizing<String>) {
    if p.is_empty() && p.capacity() < PASSPHRASE_CAPACITY {
        **p = String::with_capacity(PASSPHRASE_CAPACITY);
    }
}

fn read_identity(platform: &dyn Platform, p: &Path) -> Result<Identity, String> {
    let bytes = Zeroizing::new(
        platform
            .read_file(p)
            .map_err(|e| format!("Cannot read identity file {}: {e}", p.display()))?,
    );
    let text = std::str::from_utf8(&bytes)
        .map_err(|_| format!("{} is not an identity file (not text)", p.display()))?;
    let k = keys::parse_key_file(text, keys::RECIPIENT_SECRET, &p.display().to_string())
        .map_err(|e| e.to_string())?;
    Ok(Identity::from(k))
}

impl VerifyPanel {
    fn poll(&mut self) {
        if let Some(j) = &mut self.job {
            if j.is_done() {
                let r = j.take();
                if r.is_none() {
                    self.message = Some("The verification job stopped unexpectedly.".into());
                }
                self.report = r;
                self.job = None;
            }
        }
    }

    /// Draws the panel. With `unlocked`, content and render levels are
    /// offered; `select` receives a record path the user clicked.
    fn ui(
        &mut self,
        ui: &mut Ui,
        env: &Env<'_>,
        archive: &Archive,
        unlocked: Option<&Arc<Unlocked>>,
        mut select: Option<&mut Option<String>>,
    ) {
        ui.horizontal(|ui| {
            ui.label("Pinned issuer:");
            match &self.pinned {
                Some((_, fp)) => {
                    ui.label(RichText::new(fp).monospace());
                    if ui.button("Unpin").clicked() {
                        self.pinned = None;
                    }
                }
                None => {
                    ui.label(RichText::new("none (any valid signer is accepted and shown)").weak());
                }
            }
            if ui.button("Pin issuer key…").clicked() {
                if let Some(p) = env.platform.pick_key_file(KeyFile::Issuer) {
                    self.pin(env.platform, &p);
                }
            }
        });
        let running = self.job.is_some();
        ui.horizontal(|ui| {
            let levels: &[(Level, &str)] = if unlocked.is_some() {
                &[
                    (Level::Fixity, "Verify fixity"),
                    (Level::Content, "Verify content"),
                    (Level::Render, "Verify everything (render)"),
                ]
            } else {
                &[(Level::Fixity, "Verify fixity")]
            };
            for &(level, label) in levels {
                if ui.add_enabled(!running, egui::Button::new(label)).clicked() {
                    self.start(env, archive, unlocked, level);
                }
            }
        });
        if let Some(j) = &self.job {
            ui.horizontal(|ui| {
                ui.add(
                    egui::ProgressBar::new(j.fraction())
                        .show_percentage()
                        .desired_width(320.0),
                );
                if j.is_cancelled() {
                    ui.label("cancelling…");
                } else if ui.button("Cancel").clicked() {
                    j.cancel();
                }
            });
        }
        if let Some(m) = &self.message {
            ui.colored_label(ui.visuals().error_fg_color, m);
        }
        if let Some(r) = &self.report {
            report_ui(ui, r, self.level.unwrap_or(r.level), &mut select);
        }
    }

    /// Pins the issuer key in file `p`.
    fn pin(&mut self, platform: &dyn Platform, p: &Path) {
        match read_issuer(platform, p) {
            Ok(k) => {
                self.pinned = Some((k, legation_format::crypto::fingerprint(&k)));
                self.message = None;
            }
            Err(e) => self.message = Some(e),
        }
    }

    fn start(
        &mut self,
        env: &Env<'_>,
        archive: &Archive,
        unlocked: Option<&Arc<Unlocked>>,
        level: Level,
    ) {
        self.report = None;
        self.message = None;
        self.level = Some(level);
        let pinned = self.pinned.as_ref().map(|(k, _)| *k);
        if let Some(away) = env.platform.offload() {
            let key = unlocked.map(|u| u.data_key());
            self.job = Some(away.verify(env.archive, key, level, pinned, env.waker()));
            return;
        }
        let archive = archive.clone();
        let unlocked = unlocked.cloned();
        let host = env.host.clone();
        let make_host = env.platform.decoder_host();
        self.job = Some(env.spawn(move |p| {
            let mut progress = |d, t| p.set(d, t);
            match (level, unlocked) {
                (Level::Content, Some(u)) => u.verify_content(pinned.as_ref(), &mut progress),
                (Level::Render, Some(u)) => {
                    let host = host.get_or_init(make_host);
                    u.verify_render(host, pinned.as_ref(), &mut progress)
                }
                _ => archive.verify_fixity(pinned.as_ref(), &mut progress),
            }
        }));
    }
}

fn read_issuer(platform: &dyn Platform, p: &Path) -> Result<[u8; 32], String> {
    let bytes = platform
        .read_file(p)
        .map_err(|e| format!("Cannot read issuer key {}: {e}", p.display()))?;
    let text = std::str::from_utf8(&bytes)
        .map_err(|_| format!("{} is not an issuer public key (not text)", p.display()))?;
    keys::parse_key_file(text, keys::ISSUER_PUBLIC, &p.display().to_string())
        .map(|k| *k)
        .map_err(|e| e.to_string())
}

/// A view block's kind, for [`App::summary`].
fn block_kind(b: &legation_view::Block) -> &'static str {
    use legation_view::Block;
    match b {
        Block::Heading { .. } => "heading",
        Block::Paragraph { .. } => "paragraph",
        Block::Fields { .. } => "fields",
        Block::Table { .. } => "table",
        Block::Image { .. } => "image",
        Block::Code { .. } => "code",
        Block::Pages { .. } => "pages",
    }
}

fn level_name(l: Level) -> &'static str {
    match l {
        Level::Fixity => "fixity",
        Level::Content => "content",
        Level::Render => "render",
    }
}

/// A verification's outcome; `asked` is the level the user asked for (a
/// cancelled check stops at the level it had reached).
fn report_ui(ui: &mut Ui, r: &Report, asked: Level, select: &mut Option<&mut Option<String>>) {
    let (good, bad) = (
        Color32::from_rgb(0x2e, 0x8b, 0x3e),
        ui.visuals().error_fg_color,
    );
    let level = level_name(r.level);
    if r.cancelled {
        ui.colored_label(
            ui.visuals().warn_fg_color,
            format!(
                "Verification ({}) cancelled before the end: nothing is proven.",
                level_name(asked)
            ),
        );
    } else if r.problems.is_empty() {
        ui.colored_label(
            good,
            format!("Intact: no problem found at the {level} level."),
        );
    } else {
        let what = match r.worst() {
            Some(ErrorKind::Forged) => "FORGED OR WRONG SIGNER",
            Some(ErrorKind::Damaged) => "DAMAGED",
            _ => "NOT VERIFIED",
        };
        ui.colored_label(
            bad,
            format!(
                "{what}: {} problem(s) found at the {level} level.",
                r.problems.len()
            ),
        );
    }
    let signer = match (&r.signer, r.pinned) {
        (Some(fp), true) => format!("signed by the pinned issuer {fp}"),
        (Some(fp), false) => format!("signed by {fp} (not pinned)"),
        (None, _) => "no valid signature".into(),
    };
    let mut summary = format!(
        "{} entries and {} checked; {signer}",
        r.entries_checked,
        human_size(r.bytes_checked)
    );
    if r.level >= Level::Content {
        summary.push_str(&format!(
            "; {} records decrypted and hashed",
            r.records_checked
        ));
    }
    if r.level == Level::Render {
        summary.push_str(&format!(
            "; {} views re-rendered and matched, {} packed without a view",
            r.records_rendered,
            r.not_rendered.len()
        ));
    }
    ui.label(summary);
    for p in &r.problems {
        ui.horizontal_wrapped(|ui| {
            ui.colored_label(bad, format!("[{}]", level_name(p.level)));
            // Messages usually name their subject first already.
            let text = if p.message.starts_with(&p.subject) {
                p.message.clone()
            } else {
                format!("{}: {}", p.subject, p.message)
            };
            match select {
                // Content and render problems name a record; fixity ones an
                // entry, which is a record's when it is under `r/`.
                Some(sel)
                    if p.level != Level::Fixity
                        || p.subject.starts_with(legation_format::RECORD_PREFIX) =>
                {
                    if ui.link(text).on_hover_text("Show this record").clicked() {
                        **sel = Some(p.subject.clone());
                    }
                }
                _ => {
                    ui.label(text);
                }
            }
        });
    }
}

impl Browser {
    fn poll(&mut self, env: &Env<'_>) {
        if let Some(j) = &mut self.finding {
            if j.is_done() {
                match j.take() {
                    Some(Ok(path)) => {
                        if let Some(i) = self.catalog.position(&path) {
                            self.cursor = self.visible.iter().position(|&v| v as usize == i);
                        }
                        self.open_record(env, &path);
                    }
                    Some(Err(e)) => self.load_error = Some(e),
                    None => self.load_error = Some("The search stopped unexpectedly.".into()),
                }
                self.finding = None;
            }
        }
        if let Some(j) = &mut self.selecting {
            if j.is_done() {
                if let Some(v) = j.take() {
                    self.visible = v;
                    self.cursor = self.cursor.filter(|&c| c < self.visible.len());
                }
                self.selecting = None;
            }
        }
        // Rows arrive a few pages at a time: the list grows while the
        // rest of the catalog is read. They wait while a search holds the
        // catalog, so that adding them never copies it.
        let drain = |b: &mut Browser| {
            while b.selecting.is_none() {
                let Ok(batch) = b.batches.try_recv() else {
                    break;
                };
                Arc::make_mut(&mut b.catalog).append(batch);
                b.stale = true;
            }
        };
        drain(self);
        if let Some(j) = self.loading.as_mut().filter(|_| self.selecting.is_none()) {
            if j.is_done() {
                let r = j.take();
                drain(self);
                match r {
                    Some(Ok(_)) => {}
                    Some(Err(e)) => {
                        self.load_error = Some(format!("The catalog cannot be read: {e}"))
                    }
                    None => {
                        self.load_error = Some("Loading the catalog stopped unexpectedly.".into())
                    }
                }
                self.loading = None;
                self.stale = true;
            }
        }
        // A large list is searched and sorted beside the window, one
        // question at a time: one asked meanwhile waits for the running
        // one (whose answer shows until then), then starts.
        // The catalog's own order needs no search: it is always answered
        // within the frame.
        let trivial =
            self.query.trim().is_empty() && self.folder.is_empty() && self.sort == SortKey::Path;
        let in_frame = trivial || self.catalog.rows.len() <= SELECT_IN_FRAME;
        if self.stale && (in_frame || self.selecting.is_none()) {
            self.stale = false;
            let (q, f, s, d) = (
                self.query.clone(),
                self.folder.clone(),
                self.sort,
                self.descending,
            );
            if in_frame {
                self.visible = self.catalog.select(&q, &f, s, d);
                self.cursor = self.cursor.filter(|&c| c < self.visible.len());
            } else {
                let catalog = self.catalog.clone();
                self.selecting = Some(env.spawn(move |_| catalog.select(&q, &f, s, d)));
            }
        }
        if let Some(o) = &mut self.open {
            if let RecordState::Away(j, max_side) = &mut o.state {
                if j.is_done() {
                    let r = j
                        .take()
                        .unwrap_or_else(|| Err("the decoder's job stopped unexpectedly".into()));
                    let limits = legation_reader::decode::HostLimits::default().view;
                    o.state = match finish(&self.unlocked, &o.rec, r, &limits, *max_side) {
                        Ok(r) => RecordState::Shown(Box::new(r)),
                        Err(f) => RecordState::Failed(f),
                    };
                }
            }
            if let RecordState::Rendering(j) = &mut o.state {
                if j.is_done() {
                    o.state = match j.take() {
                        Some(Ok(r)) => RecordState::Shown(r),
                        Some(Err(f)) => RecordState::Failed(f),
                        None => RecordState::Failed(Failed {
                            error: "The decoder's job stopped unexpectedly.".into(),
                            raw: Err("not read".into()),
                            as_hex: true,
                        }),
                    };
                }
            }
            if let RecordState::Shown(r) = &mut o.state {
                r.pages(env, &self.unlocked, &o.rec);
            }
        }
        if let Some(j) = &mut self.export.job {
            if j.is_done() {
                self.export.message = Some(match j.take() {
                    Some(Ok(m)) => m,
                    Some(Err(e)) => e,
                    None => "The export stopped unexpectedly; nothing was written.".into(),
                });
                self.export.job = None;
            }
        }
    }

    /// Looks for the record stored in container entry `entry` (the catalog
    /// is read page by page, beside the window), then opens it.
    fn find_entry(&mut self, env: &Env<'_>, entry: String) {
        let u = self.unlocked.clone();
        self.finding = Some(env.spawn(move |p| {
            let pages = u.index().pages.len();
            for n in 0..pages {
                if !p.set(n as u64, pages as u64) {
                    break;
                }
                let page = u.page(n).map_err(|e| e.to_string())?;
                if let Some(r) = page.records.iter().find(|r| r.entry == entry) {
                    return Ok(r.path.clone());
                }
            }
            Err(format!("{entry}: no record of the catalog is stored there"))
        }));
    }

    fn open_record(&mut self, env: &Env<'_>, path: &str) {
        let rec = match self.unlocked.find(path) {
            Ok(r) => r,
            Err(e) => {
                self.load_error = Some(e.to_string());
                return;
            }
        };
        let u = self.unlocked.clone();
        let host = env.host.clone();
        let r2 = rec.clone();
        let make_host = env.platform.decoder_host();
        let max_side = env.ctx.map_or(2048, |c| c.input(|i| i.max_texture_side));
        let state = match env.platform.offload() {
            Some(away) => RecordState::Away(
                away.render(env.archive, u.data_key(), &rec, env.waker()),
                max_side,
            ),
            None => RecordState::Rendering(env.spawn(move |_| {
                render(&u, host.get_or_init(make_host), &r2, max_side).map(Box::new)
            })),
        };
        self.export.message = None;
        self.open = Some(OpenRecord { rec, state });
        if self.tab == Tab::Verify {
            self.tab = Tab::Record;
        }
    }

    fn ui(
        &mut self,
        ui: &mut Ui,
        env: &Env<'_>,
        archive: &Archive,
        verify: &mut VerifyPanel,
        name: &str,
    ) {
        self.poll(env);
        let search_id = egui::Id::unique("record search");
        let mut open_path: Option<String> = None;
        // Keyboard: Ctrl+F searches; arrows move in the list; Enter opens.
        let (find, down, up, enter) = ui.input_mut(|i| {
            (
                i.consume_key(Modifiers::COMMAND, Key::F),
                i.num_presses(Key::ArrowDown),
                i.num_presses(Key::ArrowUp),
                i.key_pressed(Key::Enter),
            )
        });
        let focus = ui.memory(|m| m.focused());
        let list_keys = focus.is_none() || focus == Some(search_id);
        if find {
            ui.memory_mut(|m| m.request_focus(search_id));
        }
        if list_keys && !self.visible.is_empty() {
            let last = self.visible.len() - 1;
            // Several presses may arrive in one frame (key repeat).
            if down > 0 {
                let c = self.cursor.map_or(down - 1, |c| c + down);
                self.cursor = Some(c.min(last));
                self.scroll_to_cursor = true;
            }
            if up > 0 {
                self.cursor = Some(self.cursor.map_or(0, |c| c.saturating_sub(up)));
                self.scroll_to_cursor = true;
            }
            if enter {
                if let Some(c) = self.cursor {
                    open_path = Some(self.catalog.rows[self.visible[c] as usize].path.clone());
                }
            }
        }

        egui::Panel::left("folders")
            .resizable(true)
            .default_size(170.0)
            .show(ui, |ui| {
                ui.strong("Folders");
                egui::ScrollArea::vertical()
                    .id_salt("folder tree")
                    .show(ui, |ui| {
                        if ui
                            .selectable_label(self.folder.is_empty(), "All records")
                            .clicked()
                        {
                            self.folder.clear();
                            self.stale = true;
                        }
                        let catalog = self.catalog.clone();
                        folder_tree(ui, &catalog, "", &mut self.folder, &mut self.stale);
                    });
            });

        egui::Panel::left("records")
            .resizable(true)
            .default_size(560.0)
            .show(ui, |ui| {
                ui.horizontal(|ui| {
                    let l = ui.label("Search");
                    let r = ui
                        .add(
                            egui::TextEdit::singleline(&mut self.query)
                                .id(search_id)
                                .hint_text("title, path or metadata (Ctrl+F)")
                                .desired_width(280.0),
                        )
                        .labelled_by(l.id);
                    if r.changed() {
                        self.stale = true;
                        self.cursor = None;
                    }
                });
                if let Some(j) = &self.loading {
                    ui.horizontal(|ui| {
                        ui.add(
                            egui::ProgressBar::new(j.fraction())
                                .text("Reading the catalog…")
                                .desired_width(300.0),
                        );
                    });
                }
                if let Some(e) = &self.load_error {
                    ui.colored_label(ui.visuals().error_fg_color, e);
                }
                ui.horizontal(|ui| {
                    ui.label(
                        RichText::new(format!(
                            "{} of {} records",
                            self.visible.len(),
                            self.catalog.rows.len()
                        ))
                        .small(),
                    );
                    if self.selecting.is_some() {
                        ui.spinner();
                        ui.label(RichText::new("searching…").small());
                    }
                });
                if let Some(p) = self.record_table(ui) {
                    open_path = Some(p);
                }
            });

        egui::CentralPanel::default().show(ui, |ui| {
            ui.horizontal(|ui| {
                ui.selectable_value(&mut self.tab, Tab::Record, "Record");
                ui.selectable_value(&mut self.tab, Tab::Details, "Details");
                ui.selectable_value(&mut self.tab, Tab::Verify, "Verify archive");
            });
            ui.separator();
            match self.tab {
                Tab::Verify => {
                    egui::ScrollArea::vertical()
                        .id_salt("verify")
                        .show(ui, |ui| {
                            let mut sel = None;
                            verify.ui(ui, env, archive, Some(&self.unlocked), Some(&mut sel));
                            match sel {
                                Some(s) if s.starts_with(legation_format::RECORD_PREFIX) => {
                                    self.find_entry(env, s)
                                }
                                Some(s) => open_path = Some(s),
                                None => {}
                            }
                        });
                }
                Tab::Details => {
                    egui::ScrollArea::vertical()
                        .id_salt("details")
                        .show(ui, |ui| {
                            self.details_ui(ui, archive, verify.report.as_ref());
                        });
                }
                Tab::Record => self.record_ui(ui, env, name),
            }
        });
        self.export_confirm(ui, env, name);

        if let Some(p) = open_path {
            if let Some(i) = self.catalog.position(&p) {
                self.cursor = self.visible.iter().position(|&v| v as usize == i);
            }
            self.open_record(env, &p);
        }
    }

    /// The record list; returns a record path the user opened.
    fn record_table(&mut self, ui: &mut Ui) -> Option<String> {
        let mut opened = None;
        let mut sort_by = None;
        let row_h = ui.text_style_height(&egui::TextStyle::Body) + 6.0;
        let catalog = self.catalog.clone();
        let mut tb = TableBuilder::new(ui)
            .id_salt("record list")
            .striped(true)
            .resizable(true)
            .sense(egui::Sense::click())
            .auto_shrink([false, false])
            .cell_layout(egui::Layout::left_to_right(Align::Center))
            .column(Column::initial(220.0).at_least(80.0).clip(true))
            .column(Column::initial(110.0).at_least(40.0).clip(true))
            .column(Column::initial(90.0).at_least(40.0).clip(true))
            .column(Column::remainder().at_least(60.0).clip(true));
        if self.scroll_to_cursor {
            if let Some(c) = self.cursor {
                tb = tb.scroll_to_row(c, None);
            }
            self.scroll_to_cursor = false;
        }
        let sort = self.sort;
        let desc = self.descending;
        tb.header(row_h, |mut h| {
            for (key, name) in [
                (SortKey::Title, "Title"),
                (SortKey::Type, "Type"),
                (SortKey::Date, "Date"),
                (SortKey::Size, "Size"),
            ] {
                h.col(|ui| {
                    let mark = if sort == key {
                        if desc {
                            " ▼"
                        } else {
                            " ▲"
                        }
                    } else {
                        ""
                    };
                    if ui
                        .button(RichText::new(format!("{name}{mark}")).strong())
                        .on_hover_text(format!("Sort by {}", name.to_lowercase()))
                        .clicked()
                    {
                        sort_by = Some(key);
                    }
                });
            }
        })
        .body(|body| {
            body.rows(row_h, self.visible.len(), |mut row| {
                let i = row.index();
                let r = &catalog.rows[self.visible[i] as usize];
                row.set_selected(self.cursor == Some(i));
                let mut clicked = false;
                row.col(|ui| {
                    clicked |= ui
                        .selectable_label(self.cursor == Some(i), &r.title)
                        .on_hover_text(&r.path)
                        .clicked();
                });
                row.col(|ui| {
                    ui.label(catalog.media_type(r));
                });
                row.col(|ui| {
                    ui.label(r.date.as_deref().unwrap_or("–"));
                });
                row.col(|ui| {
                    ui.with_layout(egui::Layout::right_to_left(Align::Center), |ui| {
                        ui.label(human_size(r.size));
                    });
                });
                if clicked || row.response().clicked() {
                    self.cursor = Some(i);
                    opened = Some(r.path.clone());
                }
            });
        });
        if let Some(k) = sort_by {
            if self.sort == k {
                self.descending = !self.descending;
            } else {
                self.sort = k;
                self.descending = false;
            }
            self.stale = true;
        }
        opened
    }

    fn record_ui(&mut self, ui: &mut Ui, env: &Env<'_>, archive_name: &str) {
        let Some(o) = &mut self.open else {
            ui.label("Choose a record in the list (arrows and Enter work too).");
            return;
        };
        ui.horizontal(|ui| {
            ui.label(RichText::new(&o.rec.path).strong().monospace());
            ui.label(
                RichText::new(format!("{}, {}", o.rec.media_type, human_size(o.rec.size))).weak(),
            );
        });
        let shown = matches!(o.state, RecordState::Shown(_));
        let busy = self.export.job.is_some();
        let mut export = None;
        ui.horizontal(|ui| {
            if ui
                .add_enabled(!busy, egui::Button::new("Export original…"))
                .on_hover_text("Save the record's bytes, checked against its BLAKE3")
                .clicked()
            {
                export = Some(ExportWhat::Original);
            }
            if ui
                .add_enabled(!busy && shown, egui::Button::new("Export view as HTML…"))
                .on_hover_text("Save the view as one self-contained HTML file")
                .clicked()
            {
                export = Some(ExportWhat::Html);
            }
            if busy {
                ui.spinner();
            }
        });
        if let Some(m) = &self.export.message {
            ui.label(m);
        }
        ui.separator();
        match &mut o.state {
            RecordState::Rendering(_) | RecordState::Away(..) => {
                ui.horizontal(|ui| {
                    ui.spinner();
                    ui.label("Decoding…");
                });
            }
            RecordState::Shown(r) => {
                egui::ScrollArea::vertical()
                    .id_salt(("record view", &o.rec.path))
                    .auto_shrink([false, false])
                    .show(ui, |ui| r.view.ui(ui));
            }
            RecordState::Failed(f) => failed_ui(ui, f),
        }
        if let Some(what) = export {
            let suggested = match what {
                ExportWhat::Original => {
                    o.rec.path.rsplit('/').next().unwrap_or("record").to_owned()
                }
                ExportWhat::Html => {
                    format!("{}.html", o.rec.path.rsplit('/').next().unwrap_or("record"))
                }
            };
            if let Some(p) = env.platform.pick_save(&suggested) {
                if p.exists() {
                    self.export.confirm = Some((p, what));
                } else {
                    self.start_export(env, p, what, false, archive_name);
                }
            }
        }
    }

    fn export_confirm(&mut self, ui: &mut Ui, env: &Env<'_>, archive_name: &str) {
        let Some((p, what)) = self.export.confirm.clone() else {
            return;
        };
        let mut choice = None;
        egui::Modal::new(egui::Id::unique("confirm replace")).show(ui.ctx(), |ui| {
            ui.heading("Replace the file?");
            ui.label(format!("{} exists. Replace it?", p.display()));
            ui.horizontal(|ui| {
                if ui.button("Replace").clicked() {
                    choice = Some(true);
                }
                if ui.button("Keep it").clicked() {
                    choice = Some(false);
                }
            });
        });
        match choice {
            Some(true) => {
                self.export.confirm = None;
                self.start_export(env, p, what, true, archive_name);
            }
            Some(false) => {
                self.export.confirm = None;
                self.export.message = Some("Nothing exported: the file was kept.".into());
            }
            None => {}
        }
    }

    fn start_export(
        &mut self,
        env: &Env<'_>,
        path: PathBuf,
        what: ExportWhat,
        replace: bool,
        archive_name: &str,
    ) {
        let Some(o) = &self.open else { return };
        let rec = o.rec.clone();
        let u = self.unlocked.clone();
        // A view without pages is written from the document shown; one
        // with pages is decoded again a page at a time as it is written.
        let html = match (&o.state, what) {
            (RecordState::Shown(r), ExportWhat::Html) => {
                let facts = crate::html::record_facts(archive_name, &u, &rec);
                Some(match r.view.pages() {
                    0 => Ok(crate::html::to_html(&r.view.docs[..1], &facts)),
                    _ => Err(facts),
                })
            }
            _ => None,
        };
        self.export.message = None;
        let write_new = env.platform.export_writer();
        let (host, make_host) = (env.host.clone(), env.platform.decoder_host());
        self.export.job = Some(env.spawn(move |p| {
            let shown = path.display().to_string();
            let r = write_new(&path, replace, &mut |out| match &html {
                Some(Ok(h)) => out.write_all(h.as_bytes()).map_err(|e| e.to_string()),
                Some(Err(facts)) => {
                    let host = host.get_or_init(make_host);
                    crate::html::write_record_html(&u, host, &rec, facts, out)
                        .map(|_| ())
                        .map_err(|e| e.to_string())
                }
                None => u
                    .copy_record(&rec, out, &mut |n| {
                        p.set(n, rec.size);
                    })
                    .map_err(|e| e.to_string()),
            });
            r.map(|n| format!("Exported {shown} ({} bytes).", n))
                .map_err(|e| format!("Nothing exported to {shown}: {e}"))
        }));
    }

    fn details_ui(&self, ui: &mut Ui, archive: &Archive, report: Option<&Report>) {
        let Some(o) = &self.open else {
            ui.label("Choose a record to see its details.");
            return;
        };
        let rec = &o.rec;
        ui.heading("Record");
        grid(ui, "record facts", |row| {
            row("Path", rec.path.clone());
            row("Title", rec.title.clone());
            row("Media type", rec.media_type.clone());
            row(
                "Size",
                format!("{} ({} bytes)", human_size(rec.size), rec.size),
            );
            row(
                "Modified",
                rec.modified
                    .clone()
                    .unwrap_or_else(|| "not recorded".into()),
            );
            row("BLAKE3", legation_format::hex::encode(&rec.blake3));
            row("Container entry", rec.entry.clone());
        });
        ui.add_space(8.0);
        ui.heading("Dublin Core");
        if rec.metadata.is_empty() {
            ui.label(RichText::new("No descriptive metadata was packed with this record.").weak());
        } else {
            grid(ui, "dublin core", |row| {
                for (k, vs) in &rec.metadata {
                    row(k, vs.join("; "));
                }
            });
        }
        ui.add_space(8.0);
        ui.heading("Decoder");
        let decoder = rec
            .decoder
            .as_ref()
            .and_then(|e| archive.manifest().decoders.iter().find(|d| &d.entry == e));
        match decoder {
            Some(d) => grid(ui, "decoder", |row| {
                row("Name", d.name.clone());
                row("Version", d.version.clone());
                row("Entry", d.entry.clone());
                if let Ok(me) = archive.manifest_entry(&d.entry) {
                    row("Module BLAKE3", legation_format::hex::encode(&me.blake3));
                }
                row("Media types", d.media_types.join(", "));
                row(
                    "Limits",
                    format!(
                        "fuel {}, {} nested calls, {} MiB of memory",
                        d.limits.fuel,
                        d.limits.max_depth,
                        u64::from(d.limits.max_memory_pages) * 64 / 1024
                    ),
                );
            }),
            None => {
                ui.label("No decoder is assigned to this record.");
            }
        }
        ui.add_space(8.0);
        ui.heading("Verification");
        grid(ui, "verification", |row| {
            row(
                "Content",
                match &o.state {
                    RecordState::Shown(_) => {
                        "verified when read: every chunk authenticated, BLAKE3 matches the catalog"
                            .into()
                    }
                    RecordState::Failed(f) if f.raw.is_ok() => {
                        "not fully verified (see the record tab)".into()
                    }
                    RecordState::Failed(_) => {
                        "FAILED: the record's bytes cannot be read intact".into()
                    }
                    RecordState::Rendering(_) | RecordState::Away(..) => "being read…".into(),
                },
            );
            let view = match (&rec.render, &o.state) {
                (Some(Render::Rendered { .. }), RecordState::Shown(r)) => {
                    match r.matches_recorded {
                        Some(true) => "identical to the view recorded at packing".to_owned(),
                        _ => "DIFFERS from the view recorded at packing".to_owned(),
                    }
                }
                (Some(Render::Rendered { .. }), _) => {
                    "recorded at packing; not shown yet".to_owned()
                }
                (Some(Render::NotRendered { reason }), _) => {
                    format!("not rendered at packing: {reason}")
                }
                _ => "no view was recorded at packing".to_owned(),
            };
            row("View", view);
            if let Some(r) = report {
                let mine: Vec<_> = r
                    .problems
                    .iter()
                    .filter(|p| p.subject == rec.path)
                    .collect();
                row(
                    "Archive check",
                    if mine.is_empty() {
                        format!(
                            "no problem for this record in the last {} check",
                            level_name(r.level)
                        )
                    } else {
                        mine.iter()
                            .map(|p| p.message.clone())
                            .collect::<Vec<_>>()
                            .join("; ")
                    },
                );
            }
        });
    }
}

fn grid(ui: &mut Ui, id: &str, rows: impl FnOnce(&mut dyn FnMut(&str, String))) {
    egui::Grid::new(id)
        .num_columns(2)
        .spacing([16.0, 4.0])
        .striped(true)
        .show(ui, |ui| {
            rows(&mut |k, v| {
                ui.label(RichText::new(k).strong());
                ui.label(v);
                ui.end_row();
            });
        });
}

fn folder_tree(
    ui: &mut Ui,
    catalog: &Catalog,
    parent: &str,
    selected: &mut String,
    stale: &mut bool,
) {
    for f in catalog.subfolders(parent) {
        let name = f.rsplit('/').next().unwrap_or(f);
        let has_children = catalog.subfolders(f).next().is_some();
        if has_children {
            let id = ui.make_persistent_id(("folder", f));
            egui::collapsing_header::CollapsingState::load_with_default_open(ui.ctx(), id, false)
                .show_header(ui, |ui| {
                    if ui.selectable_label(selected == f, name).clicked() {
                        *selected = f.to_owned();
                        *stale = true;
                    }
                })
                .body(|ui| folder_tree(ui, catalog, f, selected, stale));
        } else if ui.selectable_label(selected == f, name).clicked() {
            *selected = f.to_owned();
            *stale = true;
        }
    }
}

fn failed_ui(ui: &mut Ui, f: &mut Failed) {
    ui.colored_label(
        ui.visuals().error_fg_color,
        format!("This record cannot be shown: {}", f.error),
    );
    match &f.raw {
        Err(e) => {
            ui.label(format!("Its bytes cannot be read either: {e}"));
        }
        Ok(bytes) => {
            ui.horizontal(|ui| {
                ui.label(format!("Its first {} bytes, raw:", bytes.len()));
                ui.selectable_value(&mut f.as_hex, true, "Hex");
                ui.selectable_value(&mut f.as_hex, false, "Text");
            });
            let text = if f.as_hex {
                hex_dump(bytes)
            } else {
                String::from_utf8_lossy(bytes).into_owned()
            };
            egui::ScrollArea::both()
                .id_salt("raw bytes")
                .auto_shrink([false, false])
                .show(ui, |ui| {
                    ui.add(
                        egui::Label::new(RichText::new(text).monospace())
                            .wrap_mode(egui::TextWrapMode::Extend),
                    );
                });
        }
    }
}

/// Offset, sixteen bytes in hex, and their printable ASCII.
pub fn hex_dump(bytes: &[u8]) -> String {
    let mut out = String::with_capacity(bytes.len() * 4 + bytes.len() / 16 * 12);
    for (i, line) in bytes.chunks(16).enumerate() {
        out.push_str(&format!("{:08x}  ", i * 16));
        for j in 0..16 {
            match line.get(j) {
                Some(b) => out.push_str(&format!("{b:02x} ")),
                None => out.push_str("   "),
            }
            if j == 7 {
                out.push(' ');
            }
        }
        out.push(' ');
        out.extend(line.iter().map(|&b| {
            if (0x20..0x7f).contains(&b) {
                b as char
            } else {
                '.'
            }
        }));
        out.push('\n');
    }
    out
}

/// Renders a record for the record tab, or says why not and keeps its
/// first bytes for the raw view. Every page is decoded for the render
/// hash, one at a time; only the first is kept, to be shown.
fn render(
    u: &Unlocked,
    host: &Host,
    rec: &CatalogRecord,
    max_texture_side: usize,
) -> Result<Rendered, Failed> {
    let mut first_page = None;
    let r = u
        .render_record_with(host, rec, &mut |n, cbor| {
            if n == 1 {
                first_page = Some(cbor.to_vec());
            }
        })
        .map(|rendered| crate::platform::RenderedRecord {
            rendered,
            first_page,
        })
        .map_err(|e: RenderError| e.to_string());
    finish(u, rec, r, &host.limits().view, max_texture_side)
}

/// Checks and lays out a decoder's documents, or says why the record
/// shows raw (with its first bytes).
fn finish(
    u: &Unlocked,
    rec: &CatalogRecord,
    r: Result<crate::platform::RenderedRecord, String>,
    limits: &legation_view::Limits,
    max_texture_side: usize,
) -> Result<Rendered, Failed> {
    let fail = |error: String| {
        let raw = u.read_range(rec, 0, RAW_PREVIEW).map_err(|e| e.to_string());
        Failed {
            error,
            raw,
            as_hex: true,
        }
    };
    let r = r.map_err(fail)?;
    let parse = |cbor: &[u8]| {
        legation_view::Document::from_cbor(cbor, limits)
            .map_err(|e| fail(format!("the decoder's view is invalid: {e}")))
    };
    let main = parse(&r.rendered.main)?;
    let first_page = r.first_page.as_deref().map(parse).transpose()?;
    let matches_recorded = match &rec.render {
        Some(Render::Rendered { blake3, .. }) => Some(*blake3 == r.rendered.hash()),
        _ => None,
    };
    let mut view = DocumentView::new(main, first_page);
    view.prepare_images(max_texture_side);
    Ok(Rendered {
        view,
        matches_recorded,
        max_side: max_texture_side,
        page_job: None,
    })
}

impl Rendered {
    /// Shows a page decoded since the last frame, and starts decoding the
    /// page the reader turned to (one at a time; where the platform
    /// offloads decoders, there).
    fn pages(&mut self, env: &Env<'_>, u: &Arc<Unlocked>, rec: &CatalogRecord) {
        if let Some((page, j)) = &mut self.page_job {
            if !j.is_done() {
                return;
            }
            let page = *page;
            let limits = legation_reader::decode::HostLimits::default().view;
            let doc = j
                .take()
                .unwrap_or_else(|| Err("the decoder's job stopped unexpectedly".into()))
                .and_then(|cbor| {
                    legation_view::Document::from_cbor(&cbor, &limits)
                        .map_err(|e| format!("the decoder's view is invalid: {e}"))
                });
            self.page_job = None;
            match doc {
                Ok(doc) => self.view.show_page(page, doc, self.max_side),
                Err(e) => self.view.page_failed(page, e),
            }
        }
        let Some(page) = self.view.wanted_page() else {
            return;
        };
        let (index, count) = ((page - 1) as u32, self.view.pages() as u32);
        let job = match env.platform.offload() {
            Some(away) => {
                away.render_page(env.archive, u.data_key(), rec, index, count, env.waker())
            }
            None => {
                let (u, rec, host) = (u.clone(), rec.clone(), env.host.clone());
                let make_host = env.platform.decoder_host();
                env.spawn(move |_| {
                    u.render_page(host.get_or_init(make_host), &rec, index, count)
                        .map_err(|e| e.to_string())
                })
            }
        };
        self.page_job = Some((page, job));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_of_archives_and_urls() {
        let name = |s: &str| file_name(Path::new(s));
        assert_eq!(name("/srv/copies/demo.lgn"), "demo.lgn");
        assert_eq!(name("s3://embassy/2026/demo.lgn"), "demo.lgn");
        assert_eq!(
            name("http://127.0.0.1:3900/embassy/demo.lgn?X-Amz-Credential=GK1/20261127/garage/s3/aws4_request&X-Amz-Signature=ab"),
            "demo.lgn"
        );
        assert_eq!(name("https://example.org/a/b.lgn#top"), "b.lgn");
    }

    #[test]
    fn hex_dump_shows_offsets_bytes_and_text() {
        let d = hex_dump(b"Legation\x00\x01 embassy!");
        let lines: Vec<&str> = d.lines().collect();
        assert_eq!(lines.len(), 2);
        assert!(lines[0].starts_with("00000000  4c 65 67 61 74 69 6f 6e  00 01 20 65"));
        assert!(lines[0].ends_with("Legation.. embas"));
        assert!(lines[1].starts_with("00000010  73 79 21"));
    }

    #[test]
    fn typing_a_passphrase_never_reallocates_the_field() {
        let mut p = Zeroizing::new(String::new());
        reserve_passphrase(&mut p);
        let at = p.as_ptr();
        for c in "correct horse battery staple \u{e9}"
            .chars()
            .cycle()
            .take(300)
        {
            p.push(c);
            reserve_passphrase(&mut p);
        }
        assert_eq!(p.as_ptr(), at, "the buffer moved: a copy was freed unwiped");
    }
}
