//! An open archive before and after unlocking: the locked screen (public
//! facts, the keyless fixity check, the unlock form) and, once unlocked,
//! the record browser (or, for a dependent generation of a series, the
//! list of its records); for a generation of a series, which generation it
//! is and the history of its series above either.

use std::path::PathBuf;
use std::sync::Arc;

use egui::Ui;
use legation_reader::Archive;

use super::generation::GenerationList;
use super::records::Browser;
use super::unlock::{UnlockForm, Unlocking};
use super::verify::VerifyPanel;
use super::{Action, Env};
use crate::generations::SeriesView;
use crate::reading::Facts;

/// An open archive: what anyone may see of it, its verification panel,
/// and the unlock form or, once unlocked, the record browser.
pub(super) struct ArchiveScreen {
    pub(super) path: PathBuf,
    pub(super) name: String,
    pub(super) archive: Archive,
    pub(super) facts: Facts,
    /// Its series, when it is a generation of one found with others.
    pub(super) series: Option<SeriesView>,
    pub(super) verify: VerifyPanel,
    pub(super) state: LockState,
}

/// Whether the archive is still locked.
pub(super) enum LockState {
    Locked(Box<UnlockForm>),
    Open(Box<Browser>),
    /// A dependent generation of a series, unlocked: its records are read
    /// through its series.
    Generation(Box<GenerationList>),
}

impl ArchiveScreen {
    /// The data key, once unlocked.
    pub(super) fn data_key(&self) -> Option<legation_format::crypto::DataKey> {
        match &self.state {
            LockState::Locked(_) => None,
            LockState::Open(b) => Some(b.unlocked.data_key().clone()),
            LockState::Generation(g) => Some(g.key.key.clone()),
        }
    }

    /// Draws the archive's screen, locked or not, and opens the record
    /// browser once the form unlocks the archive.
    pub(super) fn ui(&mut self, ui: &mut Ui, env: &Env<'_>, actions: &mut Vec<Action>) {
        self.verify.poll();
        let ArchiveScreen {
            archive,
            facts,
            series,
            verify,
            state,
            name,
            path,
        } = self;
        let env = &Env {
            archive: path,
            ..*env
        };
        if let Some(s) = series.as_ref() {
            let changes = match state {
                LockState::Generation(g) => Some(g.key.changes),
                LockState::Open(_) => Some(None),
                LockState::Locked(_) => None,
            };
            super::history::bar(ui, s, changes, actions);
        }
        let mut unlocked = None;
        match state {
            LockState::Locked(form) => {
                if let Some(u) = form.poll(archive, series.as_ref()) {
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
                        if let Some(s) = series.as_ref() {
                            ui.add_space(8.0);
                            super::history::facts_ui(ui, s, None);
                        }
                        ui.add_space(12.0);
                        ui.heading("Fixity check (no key needed)");
                        verify.ui(ui, env, archive, None, None);
                        ui.add_space(12.0);
                        ui.heading("Unlock");
                        form.ui(ui, env, archive, series.as_ref());
                    });
                });
            }
            LockState::Open(b) => b.ui(ui, env, archive, verify, name),
            LockState::Generation(g) => {
                if let Some(s) = series.as_ref() {
                    g.ui(ui, env, s, facts, archive, verify)
                }
            }
        }
        match unlocked {
            Some(Unlocking::Archive(u)) => {
                *state = LockState::Open(Box::new(Browser::new(env, Arc::new(*u))));
            }
            Some(Unlocking::Generation(k)) => {
                if let Some(s) = series.as_ref() {
                    *state = LockState::Generation(Box::new(GenerationList::new(env, s, k)));
                }
            }
            None => return,
        }
        if let Some(c) = env.ctx {
            c.request_repaint();
        }
    }
}
