//! A file chooser drawn by the viewer itself, for desktops where the
//! native dialogs cannot open (on Linux they go through an
//! xdg-desktop-portal; without one they return nothing and say nothing):
//! it says what is missing, lists a folder, and picks a file to open or a
//! name to save as.

use std::path::{Path, PathBuf};

use egui::{Key, RichText, Ui};

use super::export::ExportWhat;
use crate::platform::KeyFile;

/// Entries of one folder listed at most (the rest are counted).
const LISTED_MAX: usize = 5_000;

/// What the file is chosen for.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(super) enum Purpose {
    /// An archive to open.
    Archive,
    /// A key file for the unlock form or the issuer to pin.
    Key(KeyFile),
    /// Where an export of the open record goes, with the name suggested.
    Save(ExportWhat, String),
}

impl Purpose {
    fn title(&self) -> &'static str {
        match self {
            Purpose::Archive => "Open a Legation archive",
            Purpose::Key(k) => k.title(),
            Purpose::Save(..) => "Export to",
        }
    }

    /// The endings listed unless all files are shown.
    fn endings(&self) -> &'static [&'static str] {
        match self {
            Purpose::Archive => &["lgn"],
            Purpose::Key(KeyFile::Share) => &["share"],
            Purpose::Key(_) => &["key", "pub"],
            Purpose::Save(..) => &[],
        }
    }
}

/// The chooser's state: the folder shown, its entries, the name chosen.
pub(super) struct Chooser {
    pub(super) purpose: Purpose,
    /// Why the system's dialog is not used.
    why: String,
    dir: PathBuf,
    /// The folder field, as typed.
    typed: String,
    /// Folders then files, by name.
    entries: Vec<(String, bool)>,
    /// Entries beyond [`LISTED_MAX`].
    more: usize,
    name: String,
    show_all: bool,
    error: Option<String>,
}

/// What the user did with the chooser this frame.
pub(super) enum Chosen {
    File(PathBuf),
    Cancelled,
}

impl Chooser {
    /// A chooser for `purpose` showing `start` (else the home folder),
    /// saying `why` the system's dialog is not used.
    pub(super) fn new(purpose: Purpose, why: String, start: Option<&Path>) -> Chooser {
        let dir = start
            .map(Path::to_owned)
            .or_else(|| std::env::var_os("HOME").map(PathBuf::from))
            .or_else(|| std::env::current_dir().ok())
            .unwrap_or_else(|| PathBuf::from("/"));
        let name = match &purpose {
            Purpose::Save(_, suggested) => suggested.clone(),
            _ => String::new(),
        };
        let mut c = Chooser {
            purpose,
            why,
            typed: String::new(),
            dir: PathBuf::new(),
            entries: Vec::new(),
            more: 0,
            name,
            show_all: false,
            error: None,
        };
        c.go(dir);
        c
    }

    /// Lists folder `dir` (sorted, folders first, at most [`LISTED_MAX`]).
    fn go(&mut self, dir: PathBuf) {
        let read = match std::fs::read_dir(&dir) {
            Ok(r) => r,
            Err(e) => {
                self.error = Some(format!("Cannot list {}: {e}", dir.display()));
                self.typed = self.dir.display().to_string();
                return;
            }
        };
        let endings = self.purpose.endings();
        let mut entries = Vec::new();
        for e in read.flatten() {
            let name = e.file_name().to_string_lossy().into_owned();
            if name.starts_with('.') {
                continue;
            }
            let is_dir = e.file_type().map(|t| t.is_dir()).unwrap_or(false) || e.path().is_dir();
            let wanted = is_dir
                || self.show_all
                || endings.is_empty()
                || endings.iter().any(|x| {
                    Path::new(&name)
                        .extension()
                        .is_some_and(|e| e.eq_ignore_ascii_case(x))
                });
            if wanted {
                entries.push((name, is_dir));
            }
        }
        entries.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
        self.more = entries.len().saturating_sub(LISTED_MAX);
        entries.truncate(LISTED_MAX);
        self.entries = entries;
        self.typed = dir.display().to_string();
        self.dir = dir;
        self.error = None;
    }

    /// Draws the chooser as a window; returns what the user chose.
    pub(super) fn ui(&mut self, ui: &mut Ui) -> Option<Chosen> {
        let mut out = None;
        let mut go = None;
        let saving = matches!(self.purpose, Purpose::Save(..));
        egui::Modal::new(egui::Id::unique("built-in file chooser")).show(ui.ctx(), |ui| {
            ui.set_width(560.0);
            ui.heading(self.purpose.title());
            ui.label(RichText::new(&self.why).color(ui.visuals().warn_fg_color));
            ui.horizontal(|ui| {
                let l = ui.label("Folder");
                let r = ui
                    .add(egui::TextEdit::singleline(&mut self.typed).desired_width(400.0))
                    .labelled_by(l.id);
                if r.lost_focus() && ui.input(|i| i.key_pressed(Key::Enter)) {
                    go = Some(PathBuf::from(self.typed.trim()));
                }
                if ui.button("Up").clicked() {
                    if let Some(p) = self.dir.parent() {
                        go = Some(p.to_owned());
                    }
                }
            });
            if let Some(e) = &self.error {
                ui.colored_label(ui.visuals().error_fg_color, e);
            }
            egui::ScrollArea::vertical()
                .max_height(280.0)
                .auto_shrink([false, false])
                .show(ui, |ui| {
                    for (name, is_dir) in &self.entries {
                        if *is_dir {
                            if ui.selectable_label(false, format!("{name}/")).clicked() {
                                go = Some(self.dir.join(name));
                            }
                        } else {
                            let r = ui.selectable_label(self.name == *name, name.as_str());
                            if r.clicked() {
                                self.name = name.clone();
                            }
                            if r.double_clicked() {
                                out = Some(Chosen::File(self.dir.join(name)));
                            }
                        }
                    }
                    if self.more > 0 {
                        ui.label(
                            RichText::new(format!("and {} more not listed", self.more)).weak(),
                        );
                    }
                });
            ui.horizontal(|ui| {
                let l = ui.label("File name");
                ui.add(egui::TextEdit::singleline(&mut self.name).desired_width(300.0))
                    .labelled_by(l.id);
                if !self.purpose.endings().is_empty()
                    && ui.checkbox(&mut self.show_all, "Show all files").changed()
                {
                    go = Some(self.dir.clone());
                }
            });
            ui.horizontal(|ui| {
                let ok = if saving { "Save" } else { "Open" };
                let ready = !self.name.trim().is_empty();
                if ui.add_enabled(ready, egui::Button::new(ok)).clicked() {
                    out = Some(Chosen::File(self.dir.join(self.name.trim())));
                }
                if ui.button("Cancel").clicked() {
                    out = Some(Chosen::Cancelled);
                }
            });
        });
        if let Some(d) = go {
            self.go(d);
        }
        out
    }
}
