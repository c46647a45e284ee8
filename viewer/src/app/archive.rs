//! An open archive before and after unlocking: the locked screen (public
//! facts, the keyless fixity check, the unlock form) and, once unlocked,
//! the record browser.

use std::path::PathBuf;
use std::sync::Arc;

use egui::Ui;
use legation_reader::Archive;

use super::records::Browser;
use super::unlock::UnlockForm;
use super::verify::VerifyPanel;
use super::{Action, Env};
use crate::reading::Facts;

/// An open archive: what anyone may see of it, its verification panel,
/// and the unlock form or, once unlocked, the record browser.
pub(super) struct ArchiveScreen {
    pub(super) path: PathBuf,
    pub(super) name: String,
    pub(super) archive: Archive,
    pub(super) facts: Facts,
    pub(super) verify: VerifyPanel,
    pub(super) state: LockState,
}

/// Whether the archive is still locked.
pub(super) enum LockState {
    Locked(Box<UnlockForm>),
    Open(Box<Browser>),
}

impl ArchiveScreen {
    /// Draws the archive's screen, locked or not, and opens the record
    /// browser once the form unlocks the archive.
    pub(super) fn ui(&mut self, ui: &mut Ui, env: &Env<'_>, actions: &mut Vec<Action>) {
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
            *state = LockState::Open(Box::new(Browser::new(env, Arc::new(u))));
            if let Some(c) = env.ctx {
                c.request_repaint();
            }
        }
    }
}
