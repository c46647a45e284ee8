//! Exporting the open record: its original bytes, its view as one HTML
//! file, or (format 2.0) a one-record proof that `legation check-proof`
//! checks without the archive, after asking before a file is replaced. The files are
//! written by the platform's writer ([`crate::export`] on the desktop).

use std::path::PathBuf;

use egui::Ui;

use super::record::RecordState;
use super::records::Browser;
use super::Env;
use crate::jobs::Job;

/// The export of the open record: a file to confirm replacing, the job
/// writing, and what it said.
#[derive(Default)]
pub(super) struct Export {
    pub(super) confirm: Option<(PathBuf, ExportWhat)>,
    pub(super) job: Option<Job<Result<String, String>>>,
    pub(super) message: Option<String>,
}

/// What of the record is exported.
#[derive(Clone, Copy, PartialEq, Eq)]
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
        match choice {
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
        let html = match (&o.state, what) {
            (RecordState::Shown(r), ExportWhat::Html) => {
                let facts = legation_html::record_facts(archive_name, &u, &rec);
                Some(match r.view.pages() {
                    0 => Ok(legation_html::to_html(&r.view.docs[..1], &facts)),
                    _ => Err(facts),
                })
            }
            _ => None,
        };
        self.export.message = None;
        let write_new = env.platform.export_writer();
        let (host, make_host) = (env.host.clone(), env.platform.decoder_host());
        self.export.job = Some(env.spawn(move |p| {
            let shown = path.display().to_string();
            let r = write_new(&path, replace, &mut |out| match &html {
                Some(Ok(h)) => out.write_all(h.as_bytes()).map_err(|e| e.to_string()),
                Some(Err(facts)) => {
                    let host = host.get_or_init(make_host);
                    legation_html::write_record_html(&u, host, &rec, facts, out)
                        .map(|_| ())
                        .map_err(|e| e.to_string())
                }
                None if what == ExportWhat::Proof => {
                    let proof = u.prove(&rec.path).map_err(|e| e.to_string())?;
                    out.write_all(&proof.to_bytes()).map_err(|e| e.to_string())
                }
                None => u
                    .copy_record(&rec, out, &mut |n| {
                        p.set(n, rec.size);
                    })
                    .map_err(|e| e.to_string()),
            });
            r.map(|n| format!("Exported {shown} ({} bytes).", n))
                .map_err(|e| format!("Nothing exported to {shown}: {e}"))
        }));
    }
}
