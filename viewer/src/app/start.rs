//! The start screen: choose an archive, drop one, open a URL or a recent
//! one; and the screen shown while one opens.

use std::path::{Path, PathBuf};

use egui::{Key, RichText, Ui};

use super::Action;
use crate::reading::file_name;

/// The start screen, with the URL field where the host opens URLs.
pub(super) fn start_ui(
    ui: &mut Ui,
    recent: &[PathBuf],
    url: Option<&mut String>,
    actions: &mut Vec<Action>,
) {
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

/// What opening does, in the order it does it: `fetching` while the
/// archive's directory and public entries are read away from the window
/// (the browser), then what the window waits for.
pub(super) const OPENING_PHASES: [&str; 2] = [
    "reading its directory and public entries",
    "checking its signature and reading its manifest and index",
];

/// The screen while the archive at `path` opens: which phase runs, and
/// the one left.
pub(super) fn opening_ui(ui: &mut Ui, path: &Path, fetching: bool) {
    let size = std::fs::metadata(path)
        .ok()
        .map(|m| format!(" ({})", crate::catalog::human_size(m.len())))
        .unwrap_or_default();
    egui::CentralPanel::default().show(ui, |ui| {
        ui.horizontal(|ui| {
            super::live::spinner(ui);
            ui.label(format!("Opening {}{size}", file_name(path)));
        });
        let now = usize::from(!fetching);
        for (i, phase) in OPENING_PHASES.iter().enumerate() {
            let text = match i.cmp(&now) {
                std::cmp::Ordering::Less => {
                    RichText::new(format!("{}. {phase}: done", i + 1)).weak()
                }
                std::cmp::Ordering::Equal => RichText::new(format!("{}. {phase}…", i + 1)).strong(),
                std::cmp::Ordering::Greater => RichText::new(format!("{}. {phase}", i + 1)).weak(),
            };
            ui.label(text);
        }
        ui.label(
            RichText::new("Then the unlock form; the keyless fixity check runs beside it.")
                .small()
                .weak(),
        );
    });
}
