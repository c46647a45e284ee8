//! Verification of the whole archive (fixity without a key; content and
//! render once unlocked), with a pinned issuer, progress and cancel, and
//! its report.

use std::path::Path;
use std::sync::Arc;

use egui::{Color32, RichText, Ui};
use legation_reader::{Archive, ErrorKind, Level, Report, Unlocked};

use super::Env;
use crate::catalog::human_size;
use crate::jobs::Job;
use crate::platform::{KeyFile, Platform};
use crate::reading::read_issuer;

/// Verification of the whole archive, with an optional pinned issuer.
#[derive(Default)]
pub(super) struct VerifyPanel {
    pub(super) pinned: Option<([u8; 32], String)>,
    pub(super) level: Option<Level>,
    pub(super) job: Option<Job<Report>>,
    pub(super) report: Option<Report>,
    pub(super) message: Option<String>,
}

impl VerifyPanel {
    pub(super) fn poll(&mut self) {
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
    /// offered; `select` receives the subject of a problem the user
    /// clicked (a record's path, or an entry's name), with its level.
    pub(super) fn ui(
        &mut self,
        ui: &mut Ui,
        env: &Env<'_>,
        archive: &Archive,
        unlocked: Option<&Arc<Unlocked>>,
        mut select: Option<&mut Option<(Level, String)>>,
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
                if let Some(p) = env.pick_key_file(KeyFile::Issuer) {
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
            super::live::live(ui);
            let (done, total) = j.counts();
            let phase = match self.level {
                Some(Level::Fixity) | None => "Fixity check: reading every entry",
                Some(Level::Content) => "Content check: decrypting every record",
                Some(Level::Render) => "Render check: decrypting and decoding every record",
            };
            ui.label(if total == 0 {
                format!("{phase}: starting…")
            } else {
                format!(
                    "{phase}: {} of {} read, {} left",
                    human_size(done),
                    human_size(total),
                    human_size(total.saturating_sub(done))
                )
            });
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
        if self.job.is_none() && self.report.is_none() && self.level.is_none() {
            // Not checked at opening (by URL, or large in the browser).
            ui.colored_label(
                ui.visuals().warn_fg_color,
                format!(
                    "Fixity not checked yet: nothing has compared this archive's bytes with \
                     their hashes. Checking reads every byte ({}); press Verify fixity.",
                    human_size(archive.len())
                ),
            );
        }
        if let Some(r) = &self.report {
            report_ui(ui, r, self.level.unwrap_or(r.level), &mut select);
        }
    }

    /// Pins the issuer key in file `p`.
    pub(super) fn pin(&mut self, platform: &dyn Platform, p: &Path) {
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

/// A verification's outcome; `asked` is the level the user asked for (a
/// cancelled check stops at the level it had reached).
fn report_ui(
    ui: &mut Ui,
    r: &Report,
    asked: Level,
    select: &mut Option<&mut Option<(Level, String)>>,
) {
    let (good, bad) = (
        Color32::from_rgb(0x2e, 0x8b, 0x3e),
        ui.visuals().error_fg_color,
    );
    let level = r.level.as_str();
    if r.cancelled {
        ui.colored_label(
            ui.visuals().warn_fg_color,
            format!(
                "Verification ({}) cancelled before the end: nothing is proven.",
                asked.as_str()
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
            ui.colored_label(bad, format!("[{}]", p.level.as_str()));
            // Messages usually name their subject first already.
            let text = if p.message.starts_with(&p.subject) {
                p.message.clone()
            } else {
                format!("{}: {}", p.subject, p.message)
            };
            // Content and render problems name a record (in 2.0, or a
            // bundle); fixity ones an entry, which is a record's when it is
            // under `r/` (1.x) and holds records when it is a 2.0 bundle or
            // catalog page.
            let hover = if p.level != Level::Fixity
                || p.subject.starts_with(legation_format::RECORD_PREFIX)
            {
                Some("Show this record")
            } else if crate::catalog::holds_records_v2(&p.subject) {
                Some("Say which records it holds")
            } else {
                None
            };
            match (select.as_deref_mut(), hover) {
                (Some(sel), Some(hover)) => {
                    if ui.link(text).on_hover_text(hover).clicked() {
                        *sel = Some((p.level, p.subject.clone()));
                    }
                }
                _ => {
                    ui.label(text);
                }
            }
        });
    }
}
