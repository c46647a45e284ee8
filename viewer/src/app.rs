//! The application: open an archive, see its public facts and a keyless
//! fixity check, unlock it, browse and search its records, read one,
//! see its details, verify the archive, export. [`App`] holds the screens;
//! each screen is a module of its own.

mod archive;
mod chooser;
mod details;
mod export;
mod facts;
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

use crate::jobs::{Job, Progress};
use crate::platform::{KeyFile, Picked, Platform, RECENT_MAX};
use crate::reading::{file_name, unlock, Facts};
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
}

enum Screen {
    Start,
    /// The platform reads what opening needs away from the window first
    /// ([`crate::platform::Offload::prepare_open`]).
    Fetching {
        path: PathBuf,
        job: Box<Job<Result<(), String>>>,
    },
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
            chooser: None,
            asked: RefCell::new(None),
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

    /// Starts opening an archive: where the platform reads away from the
    /// window, what opening reads is fetched there first.
    pub fn open(&mut self, path: PathBuf) {
        self.notice = None;
        let waker = self.waker();
        if let Some(job) = self
            .platform
            .offload()
            .and_then(|o| o.prepare_open(&path, waker))
        {
            self.screen = Screen::Fetching {
                path,
                job: Box::new(job),
            };
            return;
        }
        self.open_read(path);
    }

    /// Opens an archive whose source is ready.
    fn open_read(&mut self, path: PathBuf) {
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
                    if let LockState::Open(b) = &mut a.state {
                        b.export.chosen = Some((p, what));
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
        let fetched = match &mut self.screen {
            Screen::Fetching { path, job } => {
                if job.is_done() {
                    Some((path.clone(), job.take()))
                } else {
                    None
                }
            }
            _ => None,
        };
        match fetched {
            Some((path, Some(Ok(())))) => self.open_read(path),
            Some((path, r)) => {
                let why = r
                    .and_then(Result::err)
                    .unwrap_or_else(|| "the reading job stopped unexpectedly".into());
                self.notice = Some(format!("Cannot read {}: {why}", path.display()));
                self.screen = Screen::Start;
            }
            None => {}
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
