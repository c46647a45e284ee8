//! Exporting the open record: its original bytes, its view as one HTML
//! file, or (format 2.0) a one-record proof that `legation check-proof`
//! checks without the archive, after asking before a file is replaced. The files are
//! written by the platform's writer ([`crate::export`] on the desktop).

use std::path::PathBuf;

use egui::Ui;

use super::record::RecordState;
use super::records::Browser;
use super::Env;
use crate::export::write_export;
use crate::jobs::Job;
use crate::platform::ExportOf;

/// The export of the open record: a file to confirm replacing, the job
/// writing, and what it said.
#[derive(Default)]
pub(super) struct Export {
    pub(super) confirm: Option<(PathBuf, ExportWhat)>,
    /// Where the built-in chooser said to export, taken next frame.
    pub(super) chosen: Option<(PathBuf, ExportWhat)>,
    pub(super) job: Option<Job<Result<String, String>>>,
    pub(super) message: Option<String>,
    /// The bytes being made away from the window (where the platform
    /// offloads reading), with the target and whether to replace it.
    pub(super) away: Option<(Bytes, PathBuf, bool)>,
}

/// The bytes of an export, made away from the window.
pub(super) type Bytes = Job<Result<Vec<u8>, String>>;

/// What of the record is exported.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum ExportWhat {
    Original,
    Html,
    /// A one-record proof (format 2.0): that this record, with these
    /// bytes, is in the archive the issuer signed.
    Proof,
}

impl Browser {
    pub(super) fn export_confirm(&mut self, ui: &mut Ui, env: &Env<'_>, archive_name: &str) {
        let Some((p, what)) = self.export.confirm.clone() else {
            return;
        };
        match confirm_replace(ui, &p) {
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

    pub(super) fn start_export(
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
        let of = match (&o.state, what) {
            (RecordState::Shown(r), ExportWhat::Html) => {
                let facts = legation_html::record_facts(archive_name, &u, &rec);
                match r.view.pages() {
                    0 => {
                        let html = legation_html::to_html(&r.view.docs[..1], &facts);
                        self.export.message = None;
                        self.export.job = Some(write_job(env, path, replace, html.into_bytes()));
                        return;
                    }
                    _ => ExportOf::Html(facts),
                }
            }
            (_, ExportWhat::Proof) => ExportOf::Proof,
            _ => ExportOf::Original,
        };
        self.export.message = None;
        if let Some(away) = env.platform.offload() {
            // The bytes are made where the archive is read; the window
            // only writes them.
            let job = away.export(env.archive, u.data_key(), &rec, &of, env.waker());
            self.export.away = Some((job, path, replace));
            return;
        }
        let write_new = env.platform.export_writer();
        let (host, make_host) = (env.host.clone(), env.platform.decoder_host());
        self.export.job = Some(env.spawn(move |p| {
            let shown = path.display().to_string();
            let r = write_new(&path, replace, &mut |out| {
                write_export(
                    &u,
                    &rec,
                    &of,
                    || host.get_or_init(make_host),
                    out,
                    &mut |n| {
                        p.set(n, rec.size);
                    },
                )
            });
            exported(&shown, r)
        }));
    }

    /// Writes the bytes the platform made away from the window, or says
    /// why there are none, once they come.
    pub(super) fn poll_export(&mut self, env: &Env<'_>) {
        let Some((job, ..)) = &mut self.export.away else {
            return;
        };
        if !job.is_done() {
            return;
        }
        let Some((mut job, path, replace)) = self.export.away.take() else {
            return;
        };
        match job.take() {
            Some(Ok(bytes)) => self.export.job = Some(write_job(env, path, replace, bytes)),
            Some(Err(e)) => {
                self.export.message = Some(format!("Nothing exported to {}: {e}", path.display()))
            }
            None => {
                self.export.message =
                    Some("The export stopped unexpectedly; nothing was written.".into())
            }
        }
    }
}

/// Asks whether to replace the file `p` in a modal: `Some(true)` to
/// replace it, `Some(false)` to keep it, `None` until answered.
pub(super) fn confirm_replace(ui: &Ui, p: &std::path::Path) -> Option<bool> {
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
    choice
}

/// A job writing `bytes` to `path` with the platform's writer.
fn write_job(
    env: &Env<'_>,
    path: PathBuf,
    replace: bool,
    bytes: Vec<u8>,
) -> Job<Result<String, String>> {
    let write_new = env.platform.export_writer();
    env.spawn(move |_| {
        let r = write_new(&path, replace, &mut |out| {
            out.write_all(&bytes).map_err(|e| e.to_string())
        });
        exported(&path.display().to_string(), r)
    })
}

/// What the window says of an export to `shown` that wrote `r`.
fn exported(shown: &str, r: Result<u64, String>) -> Result<String, String> {
    r.map(|n| format!("Exported {shown} ({n} bytes)."))
        .map_err(|e| format!("Nothing exported to {shown}: {e}"))
}
