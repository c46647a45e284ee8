//! A dependent generation of a series, unlocked (SPEC §33.3): its records
//! lie in its own file and in earlier ones, so the list is read through
//! the series, a screenful ([`SCREEN_ROWS`]) at a time by streaming the
//! merged catalog: memory is one screen and a page a run, whatever the
//! number of records.

use std::sync::Arc;

use egui::{RichText, Ui};
use legation_reader::Archive;

use super::verify::VerifyPanel;
use super::Env;
use crate::catalog::human_size;
use crate::document::thousands;
use crate::generations::{records_screen, GenerationKey, RecordRow, SeriesView, SCREEN_ROWS};
use crate::jobs::Job;
use crate::reading::Facts;

/// The records of a dependent generation, a screen at a time.
pub(super) struct GenerationList {
    pub(super) key: GenerationKey,
    series: Arc<legation_reader::series::Series>,
    sequence: u64,
    /// The screen shown (0-based).
    screen: usize,
    pub(super) rows: Vec<RecordRow>,
    pub(super) job: Option<Job<Result<Vec<RecordRow>, String>>>,
    pub(super) error: Option<String>,
}

impl GenerationList {
    /// The list of the generation `s` shows, its first screen being read.
    pub(super) fn new(env: &Env<'_>, s: &SeriesView, key: GenerationKey) -> GenerationList {
        let mut g = GenerationList {
            key,
            series: s.series.clone(),
            sequence: s.current,
            screen: 0,
            rows: Vec::new(),
            job: None,
            error: None,
        };
        g.read(env, 0);
        g
    }

    /// Starts reading screen `screen`.
    fn read(&mut self, env: &Env<'_>, screen: usize) {
        if let Some(j) = &self.job {
            j.cancel();
        }
        self.screen = screen;
        let (series, sequence, key) = (self.series.clone(), self.sequence, self.key.key.clone());
        self.job =
            Some(env.spawn(move |p| {
                records_screen(&series, sequence, &key, screen, &|| p.is_cancelled())
            }));
    }

    fn poll(&mut self) {
        let Some(j) = self.job.as_mut() else { return };
        if !j.is_done() {
            return;
        }
        match j.take() {
            Some(Ok(rows)) => {
                self.rows = rows;
                self.error = None;
            }
            Some(Err(e)) => self.error = Some(e),
            None => self.error = Some("reading the records stopped unexpectedly".into()),
        }
        self.job = None;
    }

    /// The screen: the generation's records, its public facts and the
    /// keyless check of its file.
    pub(super) fn ui(
        &mut self,
        ui: &mut Ui,
        env: &Env<'_>,
        s: &SeriesView,
        facts: &Facts,
        archive: &Archive,
        verify: &mut VerifyPanel,
    ) {
        self.poll();
        let total = self.key.records;
        let screens = (total as usize).div_ceil(SCREEN_ROWS).max(1);
        let mut go = None;
        egui::CentralPanel::default().show(ui, |ui| {
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
                let first = self.screen * SCREEN_ROWS;
                let last = (first + self.rows.len()).min(total as usize);
                ui.label(format!(
                    "Records {}–{} of {}",
                    thousands((first + 1).min(last) as u64),
                    thousands(last as u64),
                    thousands(total)
                ));
                let busy = self.job.is_some();
                if ui
                    .add_enabled(!busy && self.screen > 0, egui::Button::new("Previous"))
                    .clicked()
                {
                    go = Some(self.screen - 1);
                }
                if ui
                    .add_enabled(
                        !busy && self.screen + 1 < screens,
                        egui::Button::new("Next"),
                    )
                    .clicked()
                {
                    go = Some(self.screen + 1);
                }
                if busy {
                    super::live::spinner(ui);
                    ui.label("reading the catalog…");
                }
            });
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
            ui.separator();
            let row_h = ui.text_style_height(&egui::TextStyle::Body) + 4.0;
            egui::ScrollArea::both()
                .id_salt("generation records")
                .auto_shrink([false, false])
                .show_rows(ui, row_h, self.rows.len(), |ui, range| {
                    egui::Grid::new("generation record rows")
                        .num_columns(4)
                        .spacing([16.0, 4.0])
                        .striped(true)
                        .min_row_height(row_h - 4.0)
                        .show(ui, |ui| {
                            for r in &self.rows[range] {
                                ui.label(RichText::new(&r.path).monospace());
                                ui.label(r.title.as_deref().unwrap_or(&r.media_type));
                                ui.label(human_size(r.size));
                                ui.label(if r.stored_in == self.sequence {
                                    "stored in this generation".to_owned()
                                } else {
                                    format!("stored in generation {}", r.stored_in)
                                });
                                ui.end_row();
                            }
                        });
                });
        });
        if let Some(n) = go {
            self.read(env, n);
        }
    }
}
