//! The unlock form: a passphrase or an identity file, tried beside the
//! window (or where the platform offloads key derivation).

use std::path::PathBuf;

use egui::{Key, RichText, Ui};
use legation_reader::{Archive, Key as ArchiveKey, Unlocked};
use zeroize::Zeroizing;

use super::Env;
use crate::jobs::Job;
use crate::platform::KeyFile;
use crate::reading::{file_name, read_identity, unlock, unlock_error};

/// The unlock form and the unlocking under way.
#[derive(Default)]
pub(super) struct UnlockForm {
    pub(super) passphrase: Zeroizing<String>,
    /// Whether the passphrase field was given the keyboard focus once.
    pub(super) focused: bool,
    pub(super) identity: Option<PathBuf>,
    pub(super) message: Option<String>,
    pub(super) job: Option<Job<Result<Unlocked, String>>>,
    /// The key derivation, when the platform runs it away from the window.
    pub(super) away: Option<Job<Result<legation_format::crypto::DataKey, String>>>,
}

impl UnlockForm {
    pub(super) fn poll(&mut self, archive: &Archive) -> Option<Unlocked> {
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
                Err(e) => self.refused(e),
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
                self.refused(e);
                None
            }
            None => {
                self.refused("Unlocking stopped unexpectedly; try again.".into());
                None
            }
        }
    }

    /// The keys did not unlock: says why, empties the passphrase field
    /// and gives it the keyboard again (it lost it while disabled), so
    /// that retyping and Enter try again.
    fn refused(&mut self, why: String) {
        self.message = Some(why);
        self.passphrase = Zeroizing::new(String::new());
        self.focused = false;
    }

    pub(super) fn ui(&mut self, ui: &mut Ui, env: &Env<'_>, archive: &Archive) {
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
                if let Some(p) = env.pick_key_file(KeyFile::Identity) {
                    self.identity = Some(p);
                }
            }
        });
        ui.horizontal(|ui| {
            if ui.add_enabled(!busy, egui::Button::new("Unlock")).clicked() {
                submit = true;
            }
            if busy {
                super::live::spinner(ui);
                // Named by the key tried: an identity file takes no time.
                ui.label(if self.passphrase.is_empty() {
                    "Unlocking with the identity file…"
                } else {
                    "Unlocking… (deriving the key from a passphrase takes a few seconds)"
                });
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

#[cfg(test)]
mod tests {
    use super::*;

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
