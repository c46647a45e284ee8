//! The unlock form: a passphrase, an identity file or, for an archive
//! with a quorum slot (SPEC §7.9), key holders' shares added one by one
//! from share files or typed from share sheets; tried beside the window
//! (or where the platform offloads key derivation).

use std::path::{Path, PathBuf};
use std::sync::Arc;

use egui::{Key, RichText, Ui};
use legation_format::crypto::{DataKey, KeySlot};
use legation_reader::series::Series;
use legation_reader::{Archive, Key as ArchiveKey, Unlocked};
use zeroize::Zeroizing;

use super::Env;
use crate::generations::{self, GenerationKey, SeriesView};
use crate::jobs::Job;
use crate::platform::{KeyFile, Platform};
use crate::reading::{file_name, read_identity, unlock, unlock_error};
use crate::shares::{self, Added};

/// What unlocking gives: an archive read alone, or a dependent
/// generation of a series (read through its series).
pub(super) enum Unlocking {
    Archive(Box<Unlocked>),
    Generation(GenerationKey),
}

/// A dependent generation: its series and sequence.
pub(super) type Dependent = (Arc<Series>, u64);

/// The dependent generation a view shows, if it shows one.
fn dependent(series: Option<&SeriesView>) -> Option<Dependent> {
    series
        .filter(|s| s.dependent())
        .map(|s| (s.series.clone(), s.current))
}

/// Unlocks with the user's keys: the archive, or the dependent
/// generation through its series.
pub(super) fn with_keys(
    archive: &Archive,
    dependent: Option<&Dependent>,
    keys: &[ArchiveKey],
) -> Result<Unlocking, String> {
    match dependent {
        Some((s, g)) => generations::unlock_generation(s, *g, keys).map(Unlocking::Generation),
        None => unlock(archive, keys).map(|u| Unlocking::Archive(Box::new(u))),
    }
}

/// Unlocks with a data key derived elsewhere (or carried from another
/// generation of the series), checked against the key commitment.
pub(super) fn with_data_key(
    archive: &Archive,
    dependent: Option<&Dependent>,
    key: DataKey,
) -> Result<Unlocking, String> {
    match dependent {
        Some((s, g)) => generations::open_generation(s, *g, key).map(Unlocking::Generation),
        None => archive
            .unlock_with_data_key(key)
            .map(|u| Unlocking::Archive(Box::new(u)))
            .map_err(|e| unlock_error(&e)),
    }
}

/// Whether some key slot of the archive, or some quorum holder's share,
/// opens with a passphrase, and whether some opens with an identity file:
/// an archive whose quorum slots are its only slots, held by identities
/// alone, asks for no passphrase (and one held by passphrases alone for
/// no identity file).
fn slot_kinds(archive: &Archive) -> (bool, bool) {
    use legation_format::quorum::HolderSlot;
    let (mut passphrase, mut identity) = (false, false);
    for slot in &archive.manifest().key_slots {
        match slot {
            KeySlot::Passphrase { .. } => passphrase = true,
            KeySlot::X25519 { .. } | KeySlot::MlKem768X25519(_) => identity = true,
            KeySlot::Quorum(q) => {
                for h in &q.shares {
                    match h.holder {
                        HolderSlot::Passphrase { .. } => passphrase = true,
                        _ => identity = true,
                    }
                }
            }
            _ => {}
        }
    }
    (passphrase, identity)
}

/// The unlock form and the unlocking under way.
#[derive(Default)]
pub(super) struct UnlockForm {
    pub(super) passphrase: Zeroizing<String>,
    /// Whether the passphrase field was given the keyboard focus once.
    pub(super) focused: bool,
    pub(super) identity: Option<PathBuf>,
    pub(super) message: Option<String>,
    pub(super) job: Option<Job<Result<Unlocking, String>>>,
    /// The key derivation, when the platform runs it away from the window.
    pub(super) away: Option<Job<Result<legation_format::crypto::DataKey, String>>>,
    /// Quorum shares added, each checked against the archive.
    pub(super) shares: Vec<Added>,
    /// A share sheet's words, as typed.
    pub(super) words: Zeroizing<String>,
    /// Why the last share was not added.
    pub(super) share_message: Option<String>,
    /// The shares added are enough: unlock at the next frame.
    pub(super) enough: bool,
}

impl UnlockForm {
    pub(super) fn poll(
        &mut self,
        archive: &Archive,
        series: Option<&SeriesView>,
    ) -> Option<Unlocking> {
        if let Some(r) = self
            .away
            .as_mut()
            .and_then(|j| j.is_done().then(|| j.take()))
        {
            self.away = None;
            let r = match r {
                Some(Ok(k)) => with_data_key(archive, dependent(series).as_ref(), k),
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

    /// Adds the share in the file at `p`, read through the platform
    /// (the browser's file input, the desktop's dialog or chooser), if
    /// it is a share of this archive not added yet; else says why.
    pub(super) fn add_share_file(&mut self, platform: &dyn Platform, archive: &Archive, p: &Path) {
        let from = file_name(p);
        let read = platform
            .read_file(p)
            .map(Zeroizing::new)
            .map_err(|e| format!("Cannot read share file {from}: {e}"))
            .and_then(|bytes| shares::parse_file(&bytes, &from));
        match read {
            Ok((share, holder)) => {
                self.add_share(archive, share, holder, from);
            }
            Err(e) => self.share_message = Some(format!("Share not added: {e}")),
        }
    }

    /// Lists `share` once it is checked against the archive and the
    /// shares listed; when the shares are then enough, unlocks.
    fn add_share(
        &mut self,
        archive: &Archive,
        share: legation_format::quorum::Share,
        holder: Option<String>,
        from: String,
    ) -> bool {
        match shares::admit(archive, &self.shares, &share) {
            Ok(slot) => {
                self.shares.push(Added {
                    share,
                    holder,
                    from,
                    slot,
                });
                self.share_message = None;
                self.enough = quorum_ready(archive, &self.shares);
                true
            }
            Err(e) => {
                self.share_message = Some(format!("Share not added: {e}"));
                false
            }
        }
    }

    /// The quorum part of the form: each quorum slot's policy (its shape,
    /// never the holders' keys) and how far the shares go, the shares
    /// listed with a way to remove each, and ways to add one.
    fn quorum_ui(&mut self, ui: &mut Ui, env: &Env<'_>, archive: &Archive, busy: bool) {
        let slots = shares::quorum_slots(archive);
        if slots.is_empty() {
            return;
        }
        ui.add_space(8.0);
        ui.strong("Key holders' shares");
        for (i, q) in &slots {
            ui.label(format!("Key slot {i}: {}", shares::describe(q, *i)));
            if q.check(*i).is_ok() {
                let paths: Vec<&[u8]> = self
                    .shares
                    .iter()
                    .filter(|s| s.slot == *i)
                    .map(|s| &s.share.path[..])
                    .collect();
                let p = shares::progress(q, &paths);
                let text = format!("Shares: {}", p.text);
                if p.ready {
                    ui.label(RichText::new(format!("{text}: enough to unlock")).strong());
                } else {
                    ui.label(text);
                }
            }
        }
        let mut remove = None;
        for (n, s) in self.shares.iter().enumerate() {
            ui.horizontal(|ui| {
                let who = s.holder.as_deref().unwrap_or("holder not named");
                ui.label(format!(
                    "{who}: holder {} of key slot {} (from {})",
                    s.index(),
                    s.slot,
                    s.from
                ));
                let r = ui.add_enabled(
                    !busy,
                    egui::Button::new(format!("Remove holder {}", s.index())),
                );
                if r.clicked() {
                    remove = Some(n);
                }
            });
        }
        if let Some(n) = remove {
            self.shares.remove(n);
            self.enough = false;
        }
        ui.horizontal(|ui| {
            if ui
                .add_enabled(!busy, egui::Button::new("Add share file…"))
                .clicked()
            {
                if let Some(p) = env.pick_key_file(KeyFile::Share) {
                    self.add_share_file(env.platform, archive, &p);
                }
            }
        });
        reserve(&mut self.words, WORDS_CAPACITY);
        let mut add_words = false;
        ui.horizontal(|ui| {
            let l = ui.label("Share words");
            // A sheet's dozen lines scroll inside the field's three.
            egui::ScrollArea::vertical()
                .id_salt("share words")
                .max_height(64.0)
                .show(ui, |ui| {
                    ui.add_enabled(
                        !busy,
                        egui::TextEdit::multiline(&mut *self.words)
                            .id(ui.make_persistent_id("share words"))
                            .desired_rows(3)
                            .desired_width(420.0)
                            .hint_text("the words of a share sheet, in order"),
                    )
                    .labelled_by(l.id);
                });
            let ready = !self.words.trim().is_empty();
            if ui
                .add_enabled(!busy && ready, egui::Button::new("Add words"))
                .clicked()
            {
                add_words = true;
            }
        });
        if add_words {
            match shares::parse_words(&self.words) {
                Ok(share) => {
                    if self.add_share(archive, share, None, "typed words".into()) {
                        self.words = Zeroizing::new(String::new());
                    }
                }
                Err(e) => self.share_message = Some(format!("Share not added: {e}")),
            }
        }
        if let Some(m) = &self.share_message {
            ui.colored_label(ui.visuals().error_fg_color, m);
        }
    }

    pub(super) fn ui(
        &mut self,
        ui: &mut Ui,
        env: &Env<'_>,
        archive: &Archive,
        series: Option<&SeriesView>,
    ) {
        let busy = self.job.is_some() || self.away.is_some();
        let mut submit = std::mem::take(&mut self.enough);
        let (passphrase, identity) = slot_kinds(archive);
        reserve(&mut self.passphrase, PASSPHRASE_CAPACITY);
        let slots = &archive.manifest().key_slots;
        if !slots.is_empty() && slots.iter().all(|s| matches!(s, KeySlot::Quorum(_))) {
            ui.label(if identity {
                "This archive opens only with its key holders' shares: add them below, or \
                 choose a holder's identity file."
            } else {
                "This archive opens only with its key holders' shares: add them below."
            });
        }
        if passphrase {
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
        }
        if identity || self.identity.is_some() {
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
        }
        self.quorum_ui(ui, env, archive, busy);
        ui.horizontal(|ui| {
            if ui.add_enabled(!busy, egui::Button::new("Unlock")).clicked() {
                submit = true;
            }
            if busy {
                super::live::spinner(ui);
                // Named by the key tried: an identity file takes no time.
                ui.label(if self.passphrase.is_empty() && self.identity.is_none() {
                    "Unlocking with the shares…"
                } else if self.passphrase.is_empty() {
                    "Unlocking with the identity file…"
                } else {
                    "Unlocking… (deriving the key from a passphrase takes a few seconds)"
                });
            }
        });
        if let Some(m) = &self.message {
            ui.colored_label(ui.visuals().error_fg_color, m);
        }
        // A generation the issuer's statements refuse (SPEC §37) is not
        // opened: the refusal names the key and the statement.
        let refused = series.and_then(|s| s.facts.refused.as_ref());
        if submit && !busy {
            match refused {
                Some(why) => self.message = Some(format!("Not opened: {why}")),
                None => self.start(env, archive, dependent(series)),
            }
        }
    }

    fn start(&mut self, env: &Env<'_>, archive: &Archive, dependent: Option<Dependent>) {
        self.message = None;
        self.share_message = None;
        let mut keys = Vec::new();
        if let Some(p) = &self.identity {
            match read_identity(env.platform, p) {
                Ok(k) => keys.push(k),
                Err(e) => {
                    self.message = Some(e);
                    return;
                }
            }
        }
        if !self.passphrase.is_empty() {
            keys.push(ArchiveKey::Passphrase(self.passphrase.clone()));
        }
        keys.extend(self.shares.iter().map(Added::key));
        if keys.is_empty() {
            let (passphrase, identity) = slot_kinds(archive);
            let quorum = !shares::quorum_slots(archive).is_empty();
            let mut ways = Vec::new();
            if passphrase {
                ways.push("type the passphrase");
            }
            if identity {
                ways.push("choose an identity file");
            }
            if quorum {
                ways.push("add key holders' shares");
            }
            let ways = match ways.split_last() {
                Some((last, [])) => (*last).to_owned(),
                Some((last, rest)) => format!("{} or {last}", rest.join(", ")),
                None => "give a key".to_owned(),
            };
            let mut m = format!("{ways} first.");
            m[..1].make_ascii_uppercase();
            self.message = Some(m);
            return;
        }
        if let Some(away) = env.platform.offload() {
            self.away = Some(away.unlock(env.archive, keys, env.waker()));
            return;
        }
        let archive = archive.clone();
        self.job = Some(env.spawn(move |_| with_keys(&archive, dependent.as_ref(), &keys)));
    }
}

/// Bytes the passphrase field holds without reallocating.
const PASSPHRASE_CAPACITY: usize = 1024;

/// Bytes the share words field holds without reallocating (a sheet's 64
/// words at most, with their numbers and line breaks, pasted whole).
const WORDS_CAPACITY: usize = 4096;

/// Whether the shares listed open some quorum slot of the archive.
fn quorum_ready(archive: &Archive, listed: &[Added]) -> bool {
    shares::quorum_slots(archive).iter().any(|(i, q)| {
        let paths: Vec<&[u8]> = listed
            .iter()
            .filter(|s| s.slot == *i)
            .map(|s| &s.share.path[..])
            .collect();
        q.check(*i).is_ok() && shares::progress(q, &paths).ready
    })
}

/// Gives an empty secret field (the passphrase, a sheet's words) its full
/// capacity before anything is typed, so typing never reallocates the
/// string (a reallocation frees the old buffer, with what was typed so
/// far, without wiping it).
fn reserve(p: &mut Zeroizing<String>, capacity: usize) {
    if p.is_empty() && p.capacity() < capacity {
        **p = String::with_capacity(capacity);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn typing_a_passphrase_never_reallocates_the_field() {
        let mut p = Zeroizing::new(String::new());
        reserve(&mut p, PASSPHRASE_CAPACITY);
        let at = p.as_ptr();
        for c in "correct horse battery staple \u{e9}"
            .chars()
            .cycle()
            .take(300)
        {
            p.push(c);
            reserve(&mut p, PASSPHRASE_CAPACITY);
        }
        assert_eq!(p.as_ptr(), at, "the buffer moved: a copy was freed unwiped");
    }
}
