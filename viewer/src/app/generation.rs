//! A dependent generation of a series, unlocked (SPEC §33.3): its records
//! lie in its own file and in earlier ones, so the list is read through
//! the series, a screenful ([`SCREEN_ROWS`]) at a time by streaming the
//! merged catalog: memory is one screen and a page a run, whatever the
//! number of records.

use std::sync::Arc;

use egui::{RichText, Ui};
use legation_reader::Archive;

use legation_format::catalog::CatalogRecord;
use legation_reader::decode::Host;

use super::record::{finish_raw_with, finish_with, heading_ui, OpenRecord, RecordState, Rendered};
use super::verify::VerifyPanel;
use super::Env;
use crate::catalog::human_size;
use crate::document::thousands;
use crate::generations::{
    catalog_shape, first_bytes, raw_decoder, records_screen, render_first, render_page,
    with_record, GenerationKey, RecordRow, SeriesView, SCREEN_ROWS,
};
use crate::jobs::Job;
use crate::reading::{Facts, Failed, RAW_PREVIEW};

/// A record read through the series and decoded, in the shape shown, or
/// why it cannot be found.
type Opened = Result<(CatalogRecord, Result<Box<Rendered>, Failed>), String>;

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
    /// The record shown in place of the list (one at a time).
    open: Option<OpenRecord>,
    /// The row clicked, its record being read and decoded.
    opening: Option<(RecordRow, Job<Opened>)>,
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
            open: None,
            opening: None,
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

    /// The record pane in place of the list: back to the list, then the
    /// record as a self-contained archive's record is shown.
    fn record_ui(&mut self, ui: &mut Ui) -> bool {
        let mut back = false;
        if self.open.is_none() && self.opening.is_none() {
            return false;
        }
        if ui.button("Back to the list").clicked() {
            back = true;
        }
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
            ui.separator();
            o.view_ui(ui);
        }
        if back {
            if let Some((_, j)) = self.opening.take() {
                j.cancel();
            }
            self.open = None;
        }
        true
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
        self.poll_record(env);
        let total = self.key.records;
        let screens = (total as usize).div_ceil(SCREEN_ROWS).max(1);
        let mut go = None;
        let mut clicked = None;
        egui::CentralPanel::default().show(ui, |ui| {
            if self.record_ui(ui) {
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
                                ui.end_row();
                            }
                        });
                });
        });
        if let Some(n) = go {
            self.read(env, n);
        }
        if let Some(row) = clicked {
            self.open_row(env, row);
        }
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
