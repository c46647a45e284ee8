//! The application: open an archive, see its public facts and a keyless
//! fixity check, unlock it, browse and search its records, read one,
//! see its details, verify the archive, export. [`App`] holds the screens;
//! each screen is a module of its own.

mod archive;
mod chooser;
mod details;
mod export;
mod facts;
mod generation;
mod history;
mod live;

pub(crate) use live::spinner;
mod record;
mod records;
mod start;
mod summary;
mod unlock;
mod verify;

use std::cell::RefCell;
use std::path::{Path, PathBuf};
use std::sync::{Arc, OnceLock};

use egui::{Align, RichText, Ui};
use legation_reader::decode::Host;
use legation_reader::{Archive, Key as ArchiveKey, Level};

use crate::generations::{self, SeriesView};
use crate::jobs::{Job, Progress};
use crate::platform::{KeyFile, Picked, Platform, RECENT_MAX};
use crate::reading::{file_name, Facts};
use archive::{ArchiveScreen, LockState};
use record::RecordState;
use unlock::UnlockForm;
use verify::VerifyPanel;

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
    /// The built-in file chooser, where the host's dialogs cannot open.
    chooser: Option<chooser::Chooser>,
    /// A file asked for while drawing, for the built-in chooser.
    asked: RefCell<Option<chooser::Purpose>>,
    /// The data key of the generation left for another of its series
    /// (picked in the history): tried on it first.
    carry: Option<legation_format::crypto::DataKey>,
}

/// Which generation of a series opening shows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Target {
    /// The file opened (its series found beside it).
    Given,
    /// The newest generation of the files given.
    Newest,
    /// Generation N of the files given.
    Generation(u64),
}

/// What is being opened: the file read first, the other files of its
/// series (given, or found beside it), and which generation to show.
struct Opening {
    path: PathBuf,
    others: Vec<PathBuf>,
    target: Target,
}

enum Screen {
    Start,
    /// The platform reads what opening needs away from the window first
    /// ([`crate::platform::Offload::prepare_open`]).
    Fetching {
        path: PathBuf,
        opening: Opening,
        /// One a file: the first's, then the others'.
        jobs: Vec<Job<Result<(), String>>>,
    },
    Opening {
        path: PathBuf,
        job: Box<Job<Result<Opened, String>>>,
    },
    Archive(Box<ArchiveScreen>),
}

struct Opened {
    /// The file shown (another than the one read first when a generation
    /// was asked for).
    path: PathBuf,
    archive: Archive,
    facts: Facts,
    series: Option<SeriesView>,
}

/// What the user asked for during a frame, carried out after drawing.
enum Action {
    PickArchive,
    OpenPath(PathBuf),
    /// A generation picked in the history: its file, and the files of
    /// the series.
    OpenGeneration(PathBuf, Vec<PathBuf>),
    /// The files of a series and the generation to show.
    OpenSeries(Vec<PathBuf>, Option<u64>),
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
            chooser: None,
            asked: RefCell::new(None),
            carry: None,
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

    /// How many rows the list can show now, once unlocked (0 until its
    /// first rows are read).
    pub fn records_listed(&self) -> Option<usize> {
        match &self.screen {
            Screen::Archive(a) => match &a.state {
                LockState::Open(b) => Some(if b.row(0).is_some() { b.shown() } else { 0 }),
                LockState::Locked(_) => None,
                LockState::Generation(g) => Some(g.rows.len()),
            },
            _ => None,
        }
    }

    /// Whether the records are listed: unlocked, the list's first rows
    /// read and no search running (the folder tree may still be gathered).
    pub fn is_browsing(&self) -> bool {
        matches!(&self.screen, Screen::Archive(a) if matches!(&a.state, LockState::Open(b) if b.listed()))
    }

    /// Whether a background job is running (tests wait for none).
    pub fn busy(&mut self) -> bool {
        match &mut self.screen {
            Screen::Start => false,
            Screen::Fetching { .. } | Screen::Opening { .. } => true,
            Screen::Archive(a) => {
                let v = a.verify.job.is_some();
                match &mut a.state {
                    LockState::Locked(f) => v || f.job.is_some() || f.away.is_some(),
                    LockState::Generation(g) => v || g.busy(),
                    LockState::Open(b) => {
                        v || b.list_busy()
                            || b.finding.is_some()
                            || b.locating.is_some()
                            || b.placing.is_some()
                            || b.export.job.is_some()
                            || b.export.chosen.is_some()
                            || b.export.away.is_some()
                            || match b.open.as_ref().map(|o| &o.state) {
                                Some(
                                    RecordState::Rendering(_)
                                    | RecordState::Away(..)
                                    | RecordState::Raw(..),
                                ) => true,
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

    /// Starts opening an archive (a file, or a folder: the newest
    /// generation of the series in it): where the platform reads away
    /// from the window, what opening reads is fetched there first. A
    /// generation of a series (SPEC §33) shows its history, with the other
    /// `*.lgn` files beside it.
    pub fn open(&mut self, path: PathBuf) {
        self.carry = None;
        if path.is_dir() {
            let files = generations::lgn_files(&path);
            if files.is_empty() {
                self.notice = Some(format!(
                    "{} holds no archive (no *.lgn file)",
                    path.display()
                ));
                return;
            }
            return self.open_series(files, None);
        }
        self.start_opening(Opening {
            path,
            others: Vec::new(),
            target: Target::Given,
        });
    }

    /// Opens generation `generation` (the newest when `None`) of the
    /// series whose files (or URLs) are `files`; the history lists every
    /// generation among them, and those absent.
    pub fn open_series(&mut self, mut files: Vec<PathBuf>, generation: Option<u64>) {
        self.carry = None;
        if files.is_empty() {
            return;
        }
        let path = files.remove(0);
        let target = match generation {
            Some(g) => Target::Generation(g),
            None if files.is_empty() => Target::Given,
            None => Target::Newest,
        };
        self.start_opening(Opening {
            path,
            others: files,
            target,
        });
    }

    fn start_opening(&mut self, opening: Opening) {
        self.notice = None;
        if let Some(away) = self.platform.offload() {
            let mut jobs = Vec::new();
            for p in std::iter::once(&opening.path).chain(&opening.others) {
                match away.prepare_open(p, waker(self.ctx.clone())) {
                    Some(j) => jobs.push(j),
                    None => break,
                }
            }
            if !jobs.is_empty() {
                self.screen = Screen::Fetching {
                    path: opening.path.clone(),
                    opening,
                    jobs,
                };
                return;
            }
        }
        self.open_read(opening, Vec::new());
    }

    /// Opens an archive whose source is ready, and finds its series:
    /// `others` given (`unread`: those whose fetching failed, and why),
    /// or for a file of generation 1 or later the `*.lgn` files beside it.
    fn open_read(&mut self, o: Opening, unread: Vec<(PathBuf, String)>) {
        let Opening {
            path,
            others,
            target,
        } = o;
        let source = match self.platform.open_source(&path) {
            Ok(s) => s,
            Err(e) => {
                self.notice = Some(format!("Cannot read {}: {e}", path.display()));
                self.screen = Screen::Start;
                return;
            }
        };
        let source: Arc<dyn legation_reader::source::ReadAt> = Arc::from(source);
        let open_all = |platform: &dyn Platform, list: &[PathBuf]| -> generations::Found {
            list.iter()
                .map(|p| {
                    let why = unread.iter().find(|(q, _)| q == p).map(|(_, w)| w.clone());
                    let s = match why {
                        Some(w) => Err(w),
                        None => platform
                            .open_source(p)
                            .map(Arc::from)
                            .map_err(|e| e.to_string()),
                    };
                    (p.clone(), s)
                })
                .collect()
        };
        let given = open_all(self.platform.as_ref(), &others);
        // Beside a local file: the folder's other `*.lgn` (opened only
        // when the file turns out to be a later generation).
        let beside: Vec<PathBuf> = if others.is_empty() && target == Target::Given {
            path.parent()
                .filter(|d| d.is_dir())
                .map(generations::lgn_files)
                .unwrap_or_default()
                .into_iter()
                .filter(|p| p != &path)
                .collect()
        } else {
            Vec::new()
        };
        let beside = open_all(self.platform.as_ref(), &beside);
        // The issuer's statements beside it (SPEC §37), for a series.
        let statements = crate::succession::read(self.platform.issuer_statements(&path));
        let shown = path.clone();
        let job = self.spawn(move |_| {
            let archive = Archive::open(source).map_err(|e| e.to_string())?;
            let later = archive
                .head_and_signatures()
                .and_then(|(h, _)| legation_format::v2::head::Head::parse(h).ok())
                .is_some_and(|h| h.sequence > 0);
            let mut found = given;
            if later || !found.is_empty() {
                found.extend(beside);
            }
            let series = if archive.is_v2() && (later || !found.is_empty()) {
                generations::gather(&path, &archive, found, &statements)
            } else {
                None
            };
            let (path, archive) = match (&series, target) {
                (Some(s), Target::Newest | Target::Generation(_)) => {
                    let wanted = match target {
                        Target::Generation(g) => Some(g),
                        _ => None,
                    };
                    let f = generations::pick(s, wanted).ok_or_else(|| {
                        format!(
                            "generation {} is not among the files given",
                            wanted.unwrap_or_default()
                        )
                    })?;
                    (f.path.clone(), f.archive.clone())
                }
                (None, Target::Generation(g)) if g > 0 => {
                    return Err(format!("generation {g} is not among the files given"));
                }
                _ => (path, archive),
            };
            let facts = Facts::of(&archive);
            let series = series.and_then(|s| {
                let g = s
                    .files
                    .iter()
                    .find(|f| f.path == path)
                    .map(|f| f.sequence())?;
                let mut view = SeriesView::of(s, g)?;
                crate::succession::judge(&mut view, &statements);
                Some(view)
            });
            Ok(Opened {
                path,
                archive,
                facts,
                series,
            })
        });
        self.screen = Screen::Opening {
            path: shown,
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
            set_look(ui.ctx());
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
        // Several at once: the files of a series, its newest shown.
        if dropped.len() > 1 {
            actions.push(Action::OpenSeries(dropped, None));
        } else if let Some(p) = dropped.into_iter().next() {
            actions.push(Action::OpenPath(p));
        }
        while let Some(picked) = self.platform.poll_picked() {
            match picked {
                Picked::Archive(p) => actions.push(Action::OpenPath(p)),
                Picked::Series(files, g) => actions.push(Action::OpenSeries(files, g)),
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
            asked,
            ..
        } = self;
        let env = Env {
            platform: platform.as_ref(),
            host,
            ctx: ctx.as_ref(),
            archive: Path::new(""),
            asked,
        };
        match screen {
            Screen::Start => {
                let urls = platform.opens_urls().then_some(url);
                start::start_ui(ui, recent, urls, &mut actions)
            }
            Screen::Fetching { path, .. } => start::opening_ui(ui, path, true),
            Screen::Opening { path, .. } => start::opening_ui(ui, path, false),
            Screen::Archive(a) => a.ui(ui, &env, &mut actions),
        }
        // No frame asked for here while jobs run: each wakes the window
        // when it ends, and what shows their progress asks for frames
        // while on screen (`live`).
        self.chooser_ui(ui);
        for a in actions {
            match a {
                Action::PickArchive => {
                    if self.platform.dialogs_missing().is_some() {
                        *self.asked.borrow_mut() = Some(chooser::Purpose::Archive);
                    } else if let Some(p) = self.platform.pick_archive() {
                        self.open(p);
                    }
                }
                Action::OpenPath(p) => self.open(p),
                Action::OpenSeries(files, g) => self.open_series(files, g),
                Action::OpenGeneration(p, files) => {
                    // The same unlock: the key that opened this generation
                    // is tried on the one picked.
                    let carry = match &self.screen {
                        Screen::Archive(a) => a.data_key(),
                        _ => None,
                    };
                    let others = files.into_iter().filter(|f| f != &p).collect();
                    self.start_opening(Opening {
                        path: p,
                        others,
                        target: Target::Given,
                    });
                    self.carry = carry;
                }
                Action::Close => {
                    self.screen = Screen::Start;
                    self.notice = None;
                }
            }
        }
    }

    /// Opens the built-in chooser asked for while drawing, draws it, and
    /// hands on what it chose.
    fn chooser_ui(&mut self, ui: &mut Ui) {
        if let Some(purpose) = self.asked.borrow_mut().take() {
            let why = self.platform.dialogs_missing().unwrap_or_default();
            // Where the last archive was, else the home folder.
            let start = self
                .recent
                .first()
                .and_then(|p| p.parent())
                .filter(|d| d.is_dir());
            self.chooser = Some(chooser::Chooser::new(purpose, why, start));
        }
        let Some(c) = &mut self.chooser else { return };
        let Some(chosen) = c.ui(ui) else { return };
        let purpose = c.purpose.clone();
        self.chooser = None;
        let chooser::Chosen::File(p) = chosen else {
            return;
        };
        match purpose {
            chooser::Purpose::Archive => self.open(p),
            chooser::Purpose::Key(kind) => self.key_file_picked(kind, p),
            chooser::Purpose::Save(what, _) => {
                if let Screen::Archive(a) = &mut self.screen {
                    match &mut a.state {
                        LockState::Open(b) => b.export.chosen = Some((p, what)),
                        LockState::Generation(g) => g.export_chosen = Some((p, what)),
                        LockState::Locked(_) => {}
                    }
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
            (KeyFile::Share, LockState::Locked(form)) => {
                form.add_share_file(self.platform.as_ref(), &a.archive, &p)
            }
            (KeyFile::Issuer, _) => a.verify.pin(self.platform.as_ref(), &p),
            _ => {}
        }
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
        let all_fetched = match &mut self.screen {
            Screen::Fetching { jobs, .. } => jobs.iter_mut().all(|j| j.is_done()),
            _ => false,
        };
        let fetched = if all_fetched {
            match std::mem::replace(&mut self.screen, Screen::Start) {
                Screen::Fetching { opening, jobs, .. } => Some((opening, jobs)),
                _ => None,
            }
        } else {
            None
        };
        if let Some((opening, jobs)) = fetched {
            let mut results = jobs.into_iter().map(|mut j| {
                j.take()
                    .unwrap_or_else(|| Err("the reading job stopped unexpectedly".into()))
            });
            match results.next() {
                Some(Ok(())) => {
                    let unread = opening
                        .others
                        .iter()
                        .cloned()
                        .zip(results)
                        .filter_map(|(p, r)| r.err().map(|e| (p, e)))
                        .collect();
                    self.open_read(opening, unread);
                }
                r => {
                    let why = r
                        .and_then(Result::err)
                        .unwrap_or_else(|| "the reading job stopped unexpectedly".into());
                    self.notice = Some(format!("Cannot read {}: {why}", opening.path.display()));
                    self.screen = Screen::Start;
                }
            }
        }
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
            Some((_, Some(Ok(o)))) => {
                let path = o.path.clone();
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
                let dependent = o
                    .series
                    .as_ref()
                    .filter(|s| s.dependent())
                    .map(|s| (s.series.clone(), s.current));
                let refused = o.series.as_ref().and_then(|s| s.facts.refused.clone());
                if let Some(why) = refused {
                    // Neither a carried key nor keys given open it.
                    self.carry = None;
                    self.keys = None;
                    form.message = Some(format!("Not opened: {why}"));
                } else if let Some(key) = self.carry.take() {
                    let archive = o.archive.clone();
                    form.job =
                        Some(self.spawn(move |_| {
                            unlock::with_data_key(&archive, dependent.as_ref(), key)
                        }));
                } else if let Some(keys) = self.keys.take() {
                    let archive = o.archive.clone();
                    form.job =
                        Some(self.spawn(move |_| {
                            unlock::with_keys(&archive, dependent.as_ref(), &keys)
                        }));
                }
                self.screen = Screen::Archive(Box::new(ArchiveScreen {
                    name: file_name(&path),
                    path,
                    archive: o.archive,
                    facts: o.facts,
                    series: o.series,
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
    /// A file asked of the built-in chooser (opened after the frame).
    asked: &'a RefCell<Option<chooser::Purpose>>,
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

    /// Asks for a key file: the host's dialog, or the built-in chooser
    /// (which answers in a later frame) where it cannot open.
    fn pick_key_file(&self, kind: KeyFile) -> Option<PathBuf> {
        if self.platform.dialogs_missing().is_some() {
            *self.asked.borrow_mut() = Some(chooser::Purpose::Key(kind));
            return None;
        }
        self.platform.pick_key_file(kind)
    }

    /// Asks where to save an export, as [`Env::pick_key_file`] does.
    fn pick_save(&self, suggested: &str, what: export::ExportWhat) -> Option<PathBuf> {
        if self.platform.dialogs_missing().is_some() {
            *self.asked.borrow_mut() = Some(chooser::Purpose::Save(what, suggested.to_owned()));
            return None;
        }
        self.platform.pick_save(suggested)
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

/// Text that reads well in both themes: body and weak text at least
/// WCAG AA's 4.5:1 contrast on the panels (egui's dark theme draws body
/// text #8c8c8c on #1b1b1b, weak text fainter still), and a size larger
/// than egui's 12.5 points.
pub fn set_look(ctx: &egui::Context) {
    use egui::{Color32, FontFamily, FontId, TextStyle};
    let sizes = |s: &mut egui::Style| {
        s.text_styles = [
            (
                TextStyle::Small,
                FontId::new(11.0, FontFamily::Proportional),
            ),
            (TextStyle::Body, FontId::new(14.0, FontFamily::Proportional)),
            (
                TextStyle::Button,
                FontId::new(14.0, FontFamily::Proportional),
            ),
            (
                TextStyle::Heading,
                FontId::new(20.0, FontFamily::Proportional),
            ),
            (
                TextStyle::Monospace,
                FontId::new(13.0, FontFamily::Monospace),
            ),
        ]
        .into();
    };
    ctx.style_mut_of(egui::Theme::Dark, |s| {
        sizes(s);
        s.visuals.widgets.noninteractive.fg_stroke.color = Color32::from_gray(200);
        s.visuals.weak_text_color = Some(Color32::from_gray(150));
    });
    ctx.style_mut_of(egui::Theme::Light, |s| {
        sizes(s);
        s.visuals.widgets.noninteractive.fg_stroke.color = Color32::from_gray(40);
        s.visuals.weak_text_color = Some(Color32::from_gray(95));
    });
}
