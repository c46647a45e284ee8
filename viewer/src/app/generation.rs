//! A dependent generation of a series, unlocked (SPEC §33.3): its records
//! lie in its own file and in earlier ones, so everything is read through
//! the series. The list goes a section at a time (each section found by
//! the index and read from at most one page a run, however far it lies:
//! [`records`]); a search or a folder streams from
//! the first page that may hold it, keeping at most
//! [`crate::catalog::RESULTS_MAX`] rows; the folder tree is one pass,
//! gathered at unlocking for a generation of at most
//! [`crate::catalog::SURVEY_PAGES_MAX`] sections, on demand above. A
//! record opens to its view, its details, and the export of its
//! original bytes; the series is checked keyless (every file the
//! generation reads, and the splice rules) or with the key (every record
//! read and its view made again).

use std::path::PathBuf;
use std::sync::Arc;

use egui::{RichText, Ui};
use legation_reader::Archive;

use legation_format::catalog::CatalogRecord;
use legation_reader::decode::Host;

use super::export::ExportWhat;
use super::record::{finish_raw_with, finish_with, heading_ui, OpenRecord, RecordState, Rendered};
use super::verify::VerifyPanel;
use super::Env;
use crate::catalog::{human_size, Question, RESULTS_MAX, SURVEY_PAGES_MAX};
use crate::document::thousands;
use crate::generations::{
    catalog_shape, first_bytes, raw_decoder, render_first, render_page, with_record, GenerationKey,
    RecordRow, SeriesView,
};
use crate::jobs::Job;
use crate::reading::{Facts, Failed, RAW_PREVIEW};

mod records;
use records::{Matches, Section};

/// A record read through the series and decoded, in the shape shown, or
/// why it cannot be found.
type Opened = Result<(CatalogRecord, Result<Box<Rendered>, Failed>), String>;

/// What a search gave: its matches, nothing when cancelled, or why it
/// failed.
type Searched = Result<Option<Matches>, String>;

/// What gathering the folder tree gave: the folders and whether every
/// one was kept, nothing when cancelled, or why it failed.
type Surveyed = Result<Option<(Vec<String>, bool)>, String>;

/// What the generation's check gave: problems as lines, or `None` when
/// it was cancelled.
type Checked = Option<Vec<String>>;

/// The records of a dependent generation: a section of the list, or a
/// search's or folder's matches.
pub(super) struct GenerationList {
    pub(super) key: GenerationKey,
    series: Arc<legation_reader::series::Series>,
    sequence: u64,
    /// The section shown (with its rows), or being read.
    section: Option<Section>,
    /// The rows shown: the section's, or the search's.
    pub(super) rows: Vec<RecordRow>,
    /// Why each row matched a search (beside `rows`; empty otherwise).
    why: Vec<String>,
    pub(super) job: Option<Job<Result<Section, String>>>,
    pub(super) error: Option<String>,
    /// The section number typed to go to, or a path.
    goto: String,
    /// The search as typed and the folder chosen in the tree.
    query: String,
    folder: String,
    /// The question whose matches are shown, with how many there were.
    pub(super) found: Option<(Question, u64)>,
    search_job: Option<(Question, Job<Searched>)>,
    /// The folder tree, whether it is complete, and the pass gathering it.
    pub(super) folders: Vec<String>,
    folders_complete: bool,
    folders_job: Option<Job<Surveyed>>,
    /// The record shown in place of the list (one at a time).
    open: Option<OpenRecord>,
    /// The row clicked, its record being read and decoded.
    opening: Option<(RecordRow, Job<Opened>)>,
    /// Where the built-in chooser said to export, taken next frame.
    pub(super) export_chosen: Option<(PathBuf, ExportWhat)>,
    export_confirm: Option<PathBuf>,
    export_job: Option<Job<Result<String, String>>>,
    pub(super) export_message: Option<String>,
    /// The check of the series: what was asked (`true`: with the key,
    /// every record read and its view made again), the job, its lines.
    check_job: Option<(bool, Job<Checked>)>,
    pub(super) checked: Option<(bool, Vec<String>)>,
}

impl GenerationList {
    /// The list of the generation `s` shows, its first section being read.
    pub(super) fn new(env: &Env<'_>, s: &SeriesView, key: GenerationKey) -> GenerationList {
        let mut g = GenerationList {
            key,
            series: s.series.clone(),
            sequence: s.current,
            section: None,
            rows: Vec::new(),
            why: Vec::new(),
            job: None,
            error: None,
            goto: String::new(),
            query: String::new(),
            folder: String::new(),
            found: None,
            search_job: None,
            folders: Vec::new(),
            folders_complete: false,
            folders_job: None,
            open: None,
            opening: None,
            export_chosen: None,
            export_confirm: None,
            export_job: None,
            export_message: None,
            check_job: None,
            checked: None,
        };
        g.read(env, Go::Number(0));
        g
    }

    /// Starts reading a section.
    fn read(&mut self, env: &Env<'_>, go: Go) {
        if let Some(j) = &self.job {
            j.cancel();
        }
        let (series, sequence, key) = (self.series.clone(), self.sequence, self.key.key.clone());
        self.job = Some(env.spawn(move |_| {
            let number = match go {
                Go::Number(n) => n,
                Go::Path(p) => records::section_of(&series, sequence, &key, &p)?,
            };
            records::section(&series, sequence, &key, number)
        }));
    }

    /// Starts a search (or a folder's list) for `q`; an empty question
    /// goes back to the list's sections.
    fn search(&mut self, env: &Env<'_>, q: Question) {
        if let Some((_, j)) = self.search_job.take() {
            j.cancel();
        }
        if q.is_everything() {
            self.found = None;
            self.why.clear();
            self.rows = self
                .section
                .as_ref()
                .map(|s| s.rows.clone())
                .unwrap_or_default();
            return;
        }
        let (series, sequence, key) = (self.series.clone(), self.sequence, self.key.key.clone());
        let asked = q.clone();
        let job = env.spawn(move |p| records::search(&series, sequence, &key, &asked, p));
        self.search_job = Some((q, job));
    }

    /// Starts gathering the folder tree (one pass over every page).
    fn survey(&mut self, env: &Env<'_>) {
        let (series, sequence, key) = (self.series.clone(), self.sequence, self.key.key.clone());
        self.folders_job = Some(env.spawn(move |p| records::folders(&series, sequence, &key, p)));
    }

    fn poll(&mut self, env: &Env<'_>) {
        if self.job.as_mut().is_some_and(|j| j.is_done()) {
            match self.job.take().and_then(|mut j| j.take()) {
                Some(Ok(section)) => {
                    let first = self.section.is_none();
                    if self.found.is_none() {
                        self.rows = section.rows.clone();
                    }
                    // A small generation's folder tree at once, as a
                    // self-contained archive's at unlocking.
                    if first && section.sections <= SURVEY_PAGES_MAX {
                        self.survey(env);
                    }
                    self.section = Some(section);
                    self.error = None;
                }
                Some(Err(e)) => self.error = Some(e),
                None => self.error = Some("reading the records stopped unexpectedly".into()),
            }
        }
        if self.search_job.as_mut().is_some_and(|(_, j)| j.is_done()) {
            let (q, mut j) = self.search_job.take().expect("polled");
            match j.take() {
                Some(Ok(Some(m))) => {
                    self.rows = m.rows;
                    self.why = m.why;
                    self.found = Some((q, m.matched));
                    self.error = None;
                }
                Some(Ok(None)) => {}
                Some(Err(e)) => self.error = Some(e),
                None => self.error = Some("the search stopped unexpectedly".into()),
            }
        }
        if self.folders_job.as_mut().is_some_and(|j| j.is_done()) {
            match self.folders_job.take().and_then(|mut j| j.take()) {
                Some(Ok(Some((folders, complete)))) => {
                    self.folders = folders;
                    self.folders_complete = complete;
                }
                Some(Ok(None)) => {}
                Some(Err(e)) => self.error = Some(e),
                None => self.error = Some("gathering the folders stopped unexpectedly".into()),
            }
        }
        if self.check_job.as_mut().is_some_and(|(_, j)| j.is_done()) {
            let (with_key, mut j) = self.check_job.take().expect("polled");
            match j.take() {
                Some(Some(lines)) => self.checked = Some((with_key, lines)),
                Some(None) => {}
                None => {
                    self.checked = Some((with_key, vec!["the check stopped unexpectedly".into()]))
                }
            }
        }
        if self.export_job.as_mut().is_some_and(|j| j.is_done()) {
            self.export_message = Some(match self.export_job.take().and_then(|mut j| j.take()) {
                Some(Ok(m)) | Some(Err(m)) => m,
                None => "The export stopped unexpectedly; nothing was written.".into(),
            });
        }
    }

    /// The record opened from the list, as the window's summary gives it
    /// (`null` when the list shows).
    pub(super) fn record_summary(&self) -> serde_json::Value {
        match (&self.opening, &self.open) {
            (Some((row, _)), _) => serde_json::json!({"path": row.path, "state": "rendering"}),
            (None, Some(o)) => super::summary::record_summary(o),
            (None, None) => serde_json::Value::Null,
        }
    }

    /// Whether a screen or a record (or a page of it) is being read.
    pub(super) fn busy(&self) -> bool {
        self.job.is_some()
            || self.search_job.is_some()
            || self.folders_job.is_some()
            || self.check_job.is_some()
            || self.export_job.is_some()
            || self.opening.is_some()
            || self
                .open
                .as_ref()
                .is_some_and(|o| matches!(&o.state, RecordState::Shown(r) if r.page_job.is_some()))
    }

    /// Starts reading and decoding the record of `row`, through the
    /// series.
    fn open_row(&mut self, env: &Env<'_>, row: RecordRow) {
        let (series, sequence, key) = (self.series.clone(), self.sequence, self.key.key.clone());
        let (host, make_host) = (env.host.clone(), env.platform.decoder_host());
        let max_side = env.ctx.map_or(2048, |c| c.input(|i| i.max_texture_side));
        let path = row.path.clone();
        let job = env.spawn(move |_| {
            with_record(&series, sequence, &key, &path, |u, rec, place| {
                let shown = catalog_shape(u, rec, place);
                let host = host.get_or_init(make_host);
                let r = render(u, host, rec, place, &shown, max_side).map(Box::new);
                (shown, r)
            })
        });
        self.open = None;
        self.opening = Some((row, job));
    }

    /// Takes the record read into the view, and starts decoding the page
    /// the reader turned to.
    fn poll_record(&mut self, env: &Env<'_>) {
        if let Some((_, j)) = &mut self.opening {
            if j.is_done() {
                match j.take() {
                    Some(Ok((rec, r))) => {
                        let state = match r {
                            Ok(r) => RecordState::Shown(r),
                            Err(f) => RecordState::Failed(f),
                        };
                        self.open = Some(OpenRecord { rec, state });
                    }
                    Some(Err(e)) => self.error = Some(e),
                    None => self.error = Some("reading the record stopped unexpectedly".into()),
                }
                self.opening = None;
            }
        }
        let Some(o) = &mut self.open else { return };
        let RecordState::Shown(r) = &mut o.state else {
            return;
        };
        let (series, sequence, key) = (self.series.clone(), self.sequence, self.key.key.clone());
        let path = o.rec.path.clone();
        r.pages_with(|index, count| {
            let (host, make_host) = (env.host.clone(), env.platform.decoder_host());
            env.spawn(move |_| {
                with_record(&series, sequence, &key, &path, |u, rec, place| {
                    let shown = catalog_shape(u, rec, place);
                    render_page(
                        u,
                        host.get_or_init(make_host),
                        rec,
                        place,
                        &shown,
                        index,
                        count,
                    )
                })
                .and_then(|r| r)
            })
        });
    }

    /// Starts writing the open record's original bytes to `path`, read
    /// through the series (every chunk authenticated, its BLAKE3 checked;
    /// nothing is left when that fails).
    fn start_export(&mut self, env: &Env<'_>, path: PathBuf, replace: bool) {
        let Some(o) = &self.open else { return };
        let (series, sequence, key) = (self.series.clone(), self.sequence, self.key.key.clone());
        let rec_path = o.rec.path.clone();
        let write_new = env.platform.export_writer();
        self.export_message = None;
        self.export_job = Some(env.spawn(move |_| {
            let shown = path.display().to_string();
            let r = write_new(&path, replace, &mut |out| {
                with_record(&series, sequence, &key, &rec_path, |u, rec, place| {
                    u.copy_record(rec, place, out).map_err(|e| e.to_string())
                })
                .and_then(|r| r)
            });
            r.map(|n| format!("Exported {shown} ({n} bytes)."))
                .map_err(|e| format!("Nothing exported to {shown}: {e}"))
        }));
    }

    /// Starts the check of the series: keyless (the fixity of every file
    /// the generation reads, and the splice rules), or with the key (every
    /// record read and its view made again, its pages and roots checked).
    fn start_check(&mut self, env: &Env<'_>, with_key: bool, pinned: Option<[u8; 32]>) {
        let (series, sequence, key) = (self.series.clone(), self.sequence, self.key.key.clone());
        let (host, make_host) = (env.host.clone(), env.platform.decoder_host());
        self.checked = None;
        let job = env.spawn(move |p| {
            if !with_key {
                let lines = series.audit(sequence, pinned.as_ref(), &mut |d, t| p.set(d, t));
                return (!p.is_cancelled()).then_some(lines);
            }
            let u = match series.unlock_with_data_key(sequence, key) {
                Ok(u) => u,
                Err(e) => return Some(vec![e.to_string()]),
            };
            let host = host.get_or_init(make_host);
            let c = u.check(None, Some(host), &mut |d, t| {
                p.set(d, t);
            });
            Some(c.problems)
        });
        self.check_job = Some((with_key, job));
    }

    /// The record pane in place of the list: back to the list, then the
    /// record as a self-contained archive's record is shown, its details
    /// and its export.
    fn record_ui(&mut self, ui: &mut Ui, env: &Env<'_>) -> bool {
        let mut back = false;
        if self.open.is_none() && self.opening.is_none() {
            return false;
        }
        if ui.button("Back to the list").clicked() {
            back = true;
        }
        let mut export = false;
        if let Some((row, _)) = &self.opening {
            ui.label(RichText::new(&row.path).strong().monospace());
            ui.horizontal(|ui| {
                super::live::spinner(ui);
                ui.label("Reading it through the series and decoding…");
            });
        } else if let Some(o) = &mut self.open {
            heading_ui(ui, &o.rec);
            ui.label(
                RichText::new(format!("Its bytes are stored in {}'s file.", o.rec.entry)).weak(),
            );
            ui.horizontal(|ui| {
                let busy = self.export_job.is_some();
                export = ui
                    .add_enabled(!busy, egui::Button::new("Export the original…"))
                    .on_hover_text("Save the record's bytes, read through the series and checked")
                    .clicked();
                if busy {
                    super::live::spinner(ui);
                }
            });
            ui.label(
                RichText::new(
                    "A one-record proof is made from a self-contained generation: \
                     `legation compact` writes one.",
                )
                .small()
                .weak(),
            );
            if let Some(m) = &self.export_message {
                ui.label(m);
            }
            egui::CollapsingHeader::new("Details")
                .id_salt("generation record details")
                .show(ui, |ui| details_ui(ui, &o.rec, self.sequence));
            ui.separator();
            o.view_ui(ui);
        }
        if export {
            let name = self
                .open
                .as_ref()
                .map(|o| o.rec.path.rsplit('/').next().unwrap_or("record").to_owned())
                .unwrap_or_default();
            if let Some(p) = env.pick_save(&name, ExportWhat::Original) {
                self.export_chosen = Some((p, ExportWhat::Original));
            }
        }
        if let Some((p, _)) = self.export_chosen.take() {
            if p.exists() {
                self.export_confirm = Some(p);
            } else {
                self.start_export(env, p, false);
            }
        }
        if let Some(p) = self.export_confirm.clone() {
            match super::export::confirm_replace(ui, &p) {
                Some(true) => {
                    self.export_confirm = None;
                    self.start_export(env, p, true);
                }
                Some(false) => {
                    self.export_confirm = None;
                    self.export_message = Some("Nothing exported: the file was kept.".into());
                }
                None => {}
            }
        }
        if back {
            if let Some((_, j)) = self.opening.take() {
                j.cancel();
            }
            self.open = None;
            self.export_message = None;
        }
        true
    }

    /// The folder tree beside the list.
    fn folders_ui(&mut self, ui: &mut Ui, env: &Env<'_>) -> Option<Question> {
        let mut asked = None;
        ui.heading("Folders");
        if self.folders_job.is_some() {
            ui.horizontal(|ui| {
                super::live::spinner(ui);
                ui.label("Gathering the folders…");
            });
        } else if self.folders.is_empty() {
            let sections = self.section.as_ref().map_or(0, |s| s.sections);
            if sections > SURVEY_PAGES_MAX {
                ui.label(
                    RichText::new(format!(
                        "Gathering the tree reads every page of the catalog ({} sections).",
                        thousands(sections as u64)
                    ))
                    .weak(),
                );
                if ui.button("Gather the folder tree").clicked() {
                    self.survey(env);
                }
            } else {
                ui.label(RichText::new("No folders.").weak());
            }
        }
        let mut selected = self.folder.clone();
        let mut stale = false;
        if ui
            .selectable_label(selected.is_empty(), "All records")
            .clicked()
        {
            selected.clear();
            stale = true;
        }
        egui::ScrollArea::vertical()
            .id_salt("generation folders")
            .show(ui, |ui| {
                super::records::folder_tree(ui, &self.folders, "", &mut selected, &mut stale);
            });
        if !self.folders_complete && !self.folders.is_empty() {
            ui.label(
                RichText::new("Only the first folders are shown.")
                    .small()
                    .weak(),
            );
        }
        if stale {
            self.folder = selected;
            asked = Some(Question {
                query: self.query.clone(),
                folder: self.folder.clone(),
            });
        }
        asked
    }

    /// The check of the series, keyless and with the key.
    fn check_ui(&mut self, ui: &mut Ui, env: &Env<'_>, verify: &VerifyPanel) {
        ui.label(
            "Check the series: without the key, every file this generation reads is audited \
             (fixity, signatures) and the files present are checked against one another \
             (splices); with the key, every record is read through the series and its view \
             made again.",
        );
        ui.horizontal(|ui| {
            let busy = self.check_job.is_some();
            if ui
                .add_enabled(!busy, egui::Button::new("Audit the series (no key)"))
                .clicked()
            {
                let pinned = verify.pinned.as_ref().map(|(k, _)| *k);
                self.start_check(env, false, pinned);
            }
            if ui
                .add_enabled(!busy, egui::Button::new("Check the content and views"))
                .clicked()
            {
                self.start_check(env, true, None);
            }
            if let Some((_, j)) = &self.check_job {
                ui.add(egui::ProgressBar::new(j.fraction()).desired_width(160.0));
                if ui.button("Cancel").clicked() {
                    j.cancel();
                }
            }
        });
        if let Some((with_key, lines)) = &self.checked {
            let what = if *with_key {
                "The content and views"
            } else {
                "The keyless audit of the series"
            };
            if lines.is_empty() {
                ui.colored_label(
                    egui::Color32::from_rgb(0x2e, 0x8b, 0x57),
                    format!("{what}: passed."),
                );
            } else {
                ui.colored_label(
                    ui.visuals().error_fg_color,
                    format!("{what}: {} problem(s).", lines.len()),
                );
                for l in lines.iter().take(200) {
                    ui.label(RichText::new(l).monospace().small());
                }
            }
        }
    }

    /// The screen: the generation's records, its folders and search, its
    /// public facts and the checks.
    pub(super) fn ui(
        &mut self,
        ui: &mut Ui,
        env: &Env<'_>,
        s: &SeriesView,
        facts: &Facts,
        archive: &Archive,
        verify: &mut VerifyPanel,
    ) {
        self.poll(env);
        self.poll_record(env);
        let total = self.key.records;
        let mut go = None;
        let mut clicked = None;
        let mut asked = None;
        if self.open.is_none() && self.opening.is_none() {
            egui::Panel::left("generation folder tree")
                .resizable(true)
                .default_size(180.0)
                .show(ui, |ui| {
                    asked = self.folders_ui(ui, env);
                });
        }
        egui::CentralPanel::default().show(ui, |ui| {
            if self.record_ui(ui, env) {
                return;
            }
            ui.heading(format!(
                "Generation {}: {} records",
                self.sequence,
                thousands(total)
            ));
            ui.label(
                "A dependent generation: its unchanged records are read from the earlier \
                 generations' files it names.",
            );
            ui.horizontal(|ui| {
                ui.label("Search:");
                let r = ui.add(
                    egui::TextEdit::singleline(&mut self.query)
                        .hint_text("words in titles, paths, metadata")
                        .desired_width(240.0),
                );
                if r.lost_focus() && ui.input(|i| i.key_pressed(egui::Key::Enter))
                    || ui.button("Search").clicked()
                {
                    asked = Some(Question {
                        query: self.query.clone(),
                        folder: self.folder.clone(),
                    });
                }
                if (self.found.is_some() || !self.query.is_empty()) && ui.button("Clear").clicked()
                {
                    self.query.clear();
                    self.folder.clear();
                    asked = Some(Question::default());
                }
                if let Some((_, j)) = &self.search_job {
                    super::live::spinner(ui);
                    ui.label(format!("searching… {:.0}%", j.fraction() * 100.0));
                    if ui.button("Stop").clicked() {
                        j.cancel();
                    }
                }
            });
            match (&self.found, &self.section) {
                (Some((q, matched)), _) => {
                    let mut what = Vec::new();
                    if !q.query.trim().is_empty() {
                        what.push(format!("\u{201c}{}\u{201d}", q.query.trim()));
                    }
                    if !q.folder.is_empty() {
                        what.push(format!("in {}/", q.folder));
                    }
                    ui.label(format!(
                        "{} of {} records match {}{}",
                        thousands(*matched),
                        thousands(total),
                        what.join(" "),
                        if *matched as usize > RESULTS_MAX {
                            format!(" (the first {} shown)", thousands(RESULTS_MAX as u64))
                        } else {
                            String::new()
                        }
                    ));
                }
                (None, Some(sec)) if sec.sections == 0 => {
                    ui.label("No records.");
                }
                (None, Some(sec)) => {
                    ui.horizontal_wrapped(|ui| {
                        let from = match &sec.after {
                            Some(a) => format!("after \u{201c}{a}\u{201d}"),
                            None => "from the first".into(),
                        };
                        ui.label(format!(
                            "Section {} of {}: {} records {from} up to \u{201c}{}\u{201d}",
                            thousands(sec.number as u64 + 1),
                            thousands(sec.sections as u64),
                            thousands(sec.rows.len() as u64),
                            sec.last.as_deref().unwrap_or("")
                        ));
                    });
                    ui.horizontal(|ui| {
                        let busy = self.job.is_some();
                        let n = sec.number;
                        if ui
                            .add_enabled(!busy && n > 0, egui::Button::new("Previous"))
                            .clicked()
                        {
                            go = Some(Go::Number(n - 1));
                        }
                        if ui
                            .add_enabled(!busy && n + 1 < sec.sections, egui::Button::new("Next"))
                            .clicked()
                        {
                            go = Some(Go::Number(n + 1));
                        }
                        ui.label("Go to section or path:");
                        let r = ui.add(
                            egui::TextEdit::singleline(&mut self.goto)
                                .hint_text("number or path")
                                .desired_width(140.0),
                        );
                        if (r.lost_focus() && ui.input(|i| i.key_pressed(egui::Key::Enter)))
                            || ui.add_enabled(!busy, egui::Button::new("Go")).clicked()
                        {
                            let t = std::mem::take(&mut self.goto);
                            let t = t.trim();
                            if !t.is_empty() {
                                go = Some(match t.parse::<usize>() {
                                    Ok(k) => Go::Number(k.saturating_sub(1)),
                                    Err(_) => Go::Path(t.to_owned()),
                                });
                            }
                        }
                        if busy {
                            super::live::spinner(ui);
                            ui.label("reading the catalog…");
                        }
                    });
                }
                (None, None) => {
                    ui.horizontal(|ui| {
                        super::live::spinner(ui);
                        ui.label("reading the catalog…");
                    });
                }
            }
            if let Some(e) = &self.error {
                ui.colored_label(ui.visuals().error_fg_color, e);
            }
            egui::CollapsingHeader::new("Public facts and fixity check")
                .id_salt("generation facts")
                .show(ui, |ui| {
                    facts.ui(ui);
                    ui.add_space(6.0);
                    super::history::facts_ui(ui, s, Some(self.key.changes));
                    ui.add_space(6.0);
                    verify.ui(ui, env, archive, None, None);
                });
            egui::CollapsingHeader::new("Check the series")
                .id_salt("generation check")
                .show(ui, |ui| self.check_ui(ui, env, verify));
            ui.separator();
            let row_h = ui.text_style_height(&egui::TextStyle::Body) + 4.0;
            let searching = !self.why.is_empty();
            egui::ScrollArea::both()
                .id_salt("generation records")
                .auto_shrink([false, false])
                .show_rows(ui, row_h, self.rows.len(), |ui, range| {
                    egui::Grid::new("generation record rows")
                        .num_columns(if searching { 5 } else { 4 })
                        .spacing([16.0, 4.0])
                        .striped(true)
                        .min_row_height(row_h - 4.0)
                        .show(ui, |ui| {
                            for (i, r) in self.rows[range.clone()].iter().enumerate() {
                                let link = egui::Link::new(RichText::new(&r.path).monospace());
                                if ui
                                    .add(link)
                                    .on_hover_text("Open the record's view")
                                    .clicked()
                                {
                                    clicked = Some(r.clone());
                                }
                                ui.label(r.title.as_deref().unwrap_or(&r.media_type));
                                ui.label(human_size(r.size));
                                ui.label(if r.stored_in == self.sequence {
                                    "stored in this generation".to_owned()
                                } else {
                                    format!("stored in generation {}", r.stored_in)
                                });
                                if searching {
                                    let why = self.why.get(range.start + i).map_or("", |w| w);
                                    ui.label(RichText::new(why).weak());
                                }
                                ui.end_row();
                            }
                        });
                });
        });
        if let Some(g) = go {
            self.read(env, g);
        }
        if let Some(q) = asked {
            self.search(env, q);
        }
        if let Some(row) = clicked {
            self.open_row(env, row);
        }
    }
}

/// Where the list goes: a section by number, or the section that holds
/// a path.
enum Go {
    Number(usize),
    Path(String),
}

/// A series record's details: its facts, its Dublin Core metadata, its
/// decoder and where its bytes lie.
fn details_ui(ui: &mut Ui, rec: &CatalogRecord, sequence: u64) {
    let grid = |ui: &mut Ui, id: &str, rows: Vec<(String, String)>| {
        egui::Grid::new(id)
            .num_columns(2)
            .striped(true)
            .show(ui, |ui| {
                for (k, v) in rows {
                    ui.label(RichText::new(k).strong());
                    ui.label(v);
                    ui.end_row();
                }
            });
    };
    let mut facts = vec![
        ("Path".to_owned(), rec.path.clone()),
        ("Title".to_owned(), rec.title.clone()),
        ("Media type".to_owned(), rec.media_type.clone()),
        (
            "Size".to_owned(),
            format!("{} ({} bytes)", human_size(rec.size), rec.size),
        ),
        (
            "Modified".to_owned(),
            rec.modified
                .clone()
                .unwrap_or_else(|| "not recorded".into()),
        ),
        (
            "BLAKE3".to_owned(),
            legation_format::hex::encode(&rec.blake3),
        ),
        (
            "Stored in".to_owned(),
            format!("{}'s file (read for generation {sequence})", rec.entry),
        ),
    ];
    facts.push((
        "Decoder".to_owned(),
        rec.decoder
            .clone()
            .unwrap_or_else(|| "none assigned".into()),
    ));
    grid(ui, "generation record facts", facts);
    ui.add_space(6.0);
    ui.label(RichText::new("Dublin Core").strong());
    if rec.metadata.is_empty() {
        ui.label(RichText::new("No descriptive metadata was packed with this record.").weak());
    } else {
        grid(
            ui,
            "generation dublin core",
            rec.metadata
                .iter()
                .map(|(k, vs)| (k.clone(), vs.join("; ")))
                .collect(),
        );
    }
}

/// Decodes a series record for the record pane as [`super::record::render`]
/// does a self-contained archive's: where its decoder does not show it,
/// through the generation's raw decoder with the reason; where that fails
/// too, says why with its first bytes.
fn render(
    u: &legation_reader::series::Unlocked<'_>,
    host: &Host,
    rec: &legation_format::v2::page::Record,
    place: (u64, u64),
    shown: &CatalogRecord,
    max_side: usize,
) -> Result<Rendered, Failed> {
    let limits = &host.limits().view;
    let first = || first_bytes(u, rec, place, RAW_PREVIEW);
    match render_first(u, host, rec, place, shown) {
        Err(reason) => {
            let raw = raw_decoder(u)
                .filter(|raw| shown.decoder.as_deref().is_some_and(|own| own != raw))
                .map(|raw| {
                    let through = CatalogRecord {
                        decoder: Some(raw),
                        ..shown.clone()
                    };
                    render_first(u, host, rec, place, &through)
                });
            finish_raw_with(&first, shown, reason, raw, limits, max_side)
        }
        r => finish_with(&first, shown, r, limits, max_side),
    }
}
